// SPDX-License-Identifier: Apache-2.0
/* The guest's memory workload for balloond's end-to-end tests: a static program that runs as
 * PID 1's child inside the tiny guest. It allocates and touches memory on a schedule and says
 * what it holds on stdout (the guest's serial console), one line per change:
 *
 *   workload hold=MIB                       allocate MIB, touch it, hold it forever
 *   workload grow=START,STEP,EVERY_S,MAX    start at START MiB, add STEP MiB every EVERY_S
 *                                           seconds up to MAX, then hold
 *   workload free=AFTER_S                   (with either) free everything after AFTER_S seconds
 *   workload delay=S                        (with either) wait S seconds before allocating
 *
 * Lines: "workload-held mib=N", "workload-done mib=N", "workload-freed". Pages are touched, and
 * re-touched every second, so the guest cannot reclaim them: it must keep them resident. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MIB (1024L * 1024L)

static char **chunks;
static long held;

static void grow_to(long mib) {
  while (held < mib) {
    char *p = malloc(MIB);
    if (p == NULL) {
      printf("workload-alloc-failed mib=%ld\n", held);
      fflush(stdout);
      return;
    }
    memset(p, (int)(held & 0xff) | 1, MIB);
    chunks[held++] = p;
  }
  printf("workload-held mib=%ld\n", held);
  fflush(stdout);
}

static void touch(void) {
  for (long i = 0; i < held; ++i) {
    for (long off = 0; off < MIB; off += 4096) {
      chunks[i][off]++;
    }
  }
}

int main(int argc, char **argv) {
  long start = 0, step = 0, every = 1, max = 0, free_after = -1, delay = 0;
  for (int i = 1; i < argc; ++i) {
    if (sscanf(argv[i], "hold=%ld", &start) == 1) {
      max = start;
    } else if (sscanf(argv[i], "grow=%ld,%ld,%ld,%ld", &start, &step, &every, &max) == 4) {
    } else if (sscanf(argv[i], "free=%ld", &free_after) == 1) {
    } else if (sscanf(argv[i], "delay=%ld", &delay) == 1) {
    } else {
      fprintf(stderr, "workload: unknown argument '%s'\n", argv[i]);
      return 2;
    }
  }
  if (delay > 0) {
    sleep((unsigned)delay);
  }
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
      for (long i = 0; i < held; ++i) free(chunks[i]);
      held = 0;
      step = 0;
      printf("workload-freed\n");
      fflush(stdout);
    }
  }
}
