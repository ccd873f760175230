// SPDX-License-Identifier: Apache-2.0
/* The guest's memory workload for balloond's end-to-end tests and the real-guest benchmark
 * (bench/guests/): a static program that runs inside the tiny guest. It allocates and touches
 * memory on a schedule and says what it holds on stdout (the guest's serial console):
 *
 *   workload hold=MIB                       allocate MIB, touch it, hold it forever
 *   workload grow=START,STEP,EVERY_S,MAX    start at START MiB, add STEP MiB every EVERY_S
 *                                           seconds up to MAX, then hold
 *   workload cycle=MIB,RATE,HOLD_S,PAUSE_S  forever: allocate MIB at RATE MiB/s, hold it
 *                                           HOLD_S seconds, free it, wait PAUSE_S seconds
 *   workload read=PATH,RATE                 read PATH at RATE MiB/s from start to end, again
 *                                           and again: page cache, no anonymous memory
 *   workload free=AFTER_S                   (with hold or grow) free everything after AFTER_S s
 *   workload delay=S                        wait S seconds before starting
 *   workload report                         no workload: once a second, print one line
 *     bench-stat held=MIB avail_kib=N total_kib=N refault=N pswpin=N pswpout=N oom_kill=N
 *                pgpgin=KIB
 *   from the guest's /proc/meminfo and /proc/vmstat, and what the workload of this guest holds
 *   (the file it keeps in /tmp; 0 when it is not running).
 *
 * Lines: "workload-held mib=N", "workload-done mib=N", "workload-freed". Pages are touched, and
 * re-touched every second, so the guest cannot reclaim them: it must keep them resident. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MIB (1024L * 1024L)
#define HELD_FILE "/tmp/workload.held"

static char **chunks;
static long held;

/* Tells the reporter what this process holds: "PID MIB". */
static void publish(void) {
  FILE *f = fopen(HELD_FILE ".tmp", "w");
  if (f == NULL) return;
  fprintf(f, "%d %ld\n", (int)getpid(), held);
  fclose(f);
  rename(HELD_FILE ".tmp", HELD_FILE);
}

static void say_held(void) {
  printf("workload-held mib=%ld\n", held);
  fflush(stdout);
  publish();
}

/* Allocates and touches up to mib MiB; false when malloc fails. */
static int grow_quietly(long mib) {
  while (held < mib) {
    char *p = malloc(MIB);
    if (p == NULL) {
      printf("workload-alloc-failed mib=%ld\n", held);
      fflush(stdout);
      return 0;
    }
    memset(p, (int)(held & 0xff) | 1, MIB);
    chunks[held++] = p;
  }
  return 1;
}

static void grow_to(long mib) {
  grow_quietly(mib);
  say_held();
}

static void free_all(void) {
  for (long i = 0; i < held; ++i) free(chunks[i]);
  held = 0;
  printf("workload-freed\n");
  fflush(stdout);
  publish();
}

static void touch(void) {
  for (long i = 0; i < held; ++i) {
    for (long off = 0; off < MIB; off += 4096) {
      chunks[i][off]++;
    }
  }
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_s(double s) {
  if (s <= 0) return;
  struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
  nanosleep(&ts, NULL);
}

/* cycle: allocate in tenths of a second so that RATE holds within the second. */
static void run_cycle(long mib, long rate, long hold_s, long pause_s) {
  chunks = calloc((size_t)mib + 1, sizeof(char *));
  long per_step = rate / 10 > 0 ? rate / 10 : 1;
  for (;;) {
    double last_touch = now_s();
    while (held < mib) {
      double began = now_s();
      grow_quietly(held + per_step > mib ? mib : held + per_step);
      publish();
      if (now_s() - last_touch >= 1.0) {
        touch();
        last_touch = now_s();
      }
      sleep_s(0.1 - (now_s() - began));
    }
    say_held();
    for (long s = 0; s < hold_s; ++s) {
      sleep(1);
      touch();
    }
    free_all();
    sleep((unsigned)pause_s);
  }
}

static void run_reader(const char *path, long rate) {
  static char buf[1 << 20];
  long per_step = rate / 10 > 0 ? rate / 10 : 1;
  publish();
  for (;;) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
      printf("workload-read-failed path=%s\n", path);
      fflush(stdout);
      sleep(5);
      continue;
    }
    long total = 0;
    for (;;) {
      double began = now_s();
      long n = 0;
      ssize_t got = 1;
      for (; n < per_step && got > 0; ++n) got = read(fd, buf, sizeof buf);
      if (got <= 0) break;
      total += n;
      sleep_s(0.1 - (now_s() - began));
    }
    close(fd);
    printf("workload-read mib=%ld\n", total);
    fflush(stdout);
  }
}

/* The value of key in a "key value" file such as /proc/vmstat, or -1. */
static long long field(const char *path, const char *key) {
  FILE *f = fopen(path, "r");
  if (f == NULL) return -1;
  char line[256], name[64];
  long long v, found = -1;
  while (fgets(line, sizeof line, f) != NULL) {
    if (sscanf(line, "%63[^: ]:%lld", name, &v) == 2 || sscanf(line, "%63s %lld", name, &v) == 2) {
      if (strcmp(name, key) == 0) {
        found = v;
        break;
      }
    }
  }
  fclose(f);
  return found;
}

static void run_report(void) {
  for (;;) {
    long held_now = 0;
    int pid = 0;
    FILE *f = fopen(HELD_FILE, "r");
    if (f != NULL) {
      if (fscanf(f, "%d %ld", &pid, &held_now) != 2 || pid <= 0 || kill(pid, 0) != 0) held_now = 0;
      fclose(f);
    }
    long long refault = field("/proc/vmstat", "workingset_refault_anon");
    long long refault_file = field("/proc/vmstat", "workingset_refault_file");
    if (refault < 0) refault = 0;
    if (refault_file > 0) refault += refault_file;
    printf("bench-stat held=%ld avail_kib=%lld total_kib=%lld refault=%lld pswpin=%lld "
           "pswpout=%lld oom_kill=%lld pgpgin=%lld\n",
           held_now, field("/proc/meminfo", "MemAvailable"), field("/proc/meminfo", "MemTotal"),
           refault, field("/proc/vmstat", "pswpin"), field("/proc/vmstat", "pswpout"),
           field("/proc/vmstat", "oom_kill"), field("/proc/vmstat", "pgpgin"));
    fflush(stdout);
    sleep(1);
  }
}

int main(int argc, char **argv) {
  long start = 0, step = 0, every = 1, max = 0, free_after = -1, delay = 0;
  long cyc_mib = 0, cyc_rate = 0, cyc_hold = 0, cyc_pause = 0, read_rate = 0;
  char read_path[256] = "";
  int report = 0;
  for (int i = 1; i < argc; ++i) {
    if (sscanf(argv[i], "hold=%ld", &start) == 1) {
      max = start;
    } else if (sscanf(argv[i], "grow=%ld,%ld,%ld,%ld", &start, &step, &every, &max) == 4) {
    } else if (sscanf(argv[i], "cycle=%ld,%ld,%ld,%ld", &cyc_mib, &cyc_rate, &cyc_hold,
                      &cyc_pause) == 4) {
    } else if (sscanf(argv[i], "read=%255[^,],%ld", read_path, &read_rate) == 2) {
    } else if (sscanf(argv[i], "free=%ld", &free_after) == 1) {
    } else if (sscanf(argv[i], "delay=%ld", &delay) == 1) {
    } else if (strcmp(argv[i], "report") == 0) {
      report = 1;
    } else {
      fprintf(stderr, "workload: unknown argument '%s'\n", argv[i]);
      return 2;
    }
  }
  if (report) run_report();
  if (delay > 0) {
    sleep((unsigned)delay);
  }
  if (cyc_mib > 0 && cyc_rate > 0) run_cycle(cyc_mib, cyc_rate, cyc_hold, cyc_pause);
  if (read_path[0] != '\0' && read_rate > 0) run_reader(read_path, read_rate);
  chunks = calloc((size_t)(max > start ? max : start) + 1, sizeof(char *));
  grow_to(start);
  time_t began = time(NULL), last_step = began;
  for (;;) {
    sleep(1);
    touch();
    time_t now = time(NULL);
    if (step > 0 && held < max && now - last_step >= every) {
      last_step = now;
      grow_to(held + step > max ? max : held + step);
      if (held >= max) {
        printf("workload-done mib=%ld\n", held);
        fflush(stdout);
      }
    }
    if (free_after >= 0 && now - began >= free_after && held > 0) {
      free_all();
      step = 0;
    }
  }
}
