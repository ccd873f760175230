// SPDX-License-Identifier: Apache-2.0
#include "daemon/sim/host.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "daemon/sim/channel.h"

namespace balloond::sim {
namespace {

constexpr double kTol = 1e-6;  // MiB

// A VM with no workload, no page cache, no swap and a 96 MiB kernel; tests add what they need.
config::SimVmSpec vmSpec(const std::string& name, double max_mib) {
  config::SimVmSpec vm;
  vm.name = name;
  vm.max_mib = max_mib;
  vm.workload.kernel_mib = 96;
  vm.workload.cache_mib = 0;
  return vm;
}

// A constant phase of `mib` for `duration_s` (0 = forever).
config::PhaseSpec level(double mib, double duration_s = 0) {
  config::PhaseSpec p;
  p.mib = mib;
  p.duration_s = duration_s;
  return p;
}

// A workload that holds `mib` forever (or for `duration_s`, then `next_mib` forever).
void holdWorkingSet(config::SimVmSpec& vm, double mib, double duration_s = 0, double next_mib = 0) {
  vm.workload.phases = {level(mib, duration_s)};
  if (duration_s > 0) {
    vm.workload.phases.push_back(level(next_mib));
  }
}

config::SimHostSpec hostSpec(double total_mib, std::vector<config::SimVmSpec> vms) {
  config::SimHostSpec host;
  host.total_mib = total_mib;
  host.overhead_mib = 512;
  host.per_vm_overhead_mib = 32;
  host.vms = std::move(vms);
  return host;
}

int64_t kib(double mib) {
  return std::llround(mib * 1024);
}

std::vector<std::string> names(const Snapshot& s) {
  std::vector<std::string> out;
  for (const auto& vm : s.vms) {
    out.push_back(vm.name);
  }
  return out;
}

// --- balloon driver ---------------------------------------------------------------------------

struct RateCase {
  double from_mib;
  double to_mib;
  double rate_mib_s;
  double seconds;  // when it arrives
};

TEST(SimHostTest, InflatesAtRateWhileMemoryIsFree) {
  const std::vector<RateCase> cases = {
      {2048, 1024, 512, 2.0},
      {2048, 1024, 256, 4.0},
      {2048, 1536, 512, 1.0},
      {4096, 512, 1024, 3.5},
  };
  for (const auto& c : cases) {
    auto vm = vmSpec("a", c.from_mib);
    vm.driver.rate_mib_s = c.rate_mib_s;
    SimHost host(hostSpec(16384, {vm}));
    ASSERT_TRUE(host.setTarget("a", kib(c.to_mib)));
    host.advance(c.seconds - 0.1);  // one step short: not there yet
    EXPECT_NEAR(host.guest("a")->actual_mib, c.to_mib + c.rate_mib_s * 0.1, kTol) << c.rate_mib_s;
    host.advance(0.1);
    EXPECT_EQ(host.snapshot().vms[0].actual_kib, kib(c.to_mib)) << c.rate_mib_s;
    host.advance(5);  // and stays
    EXPECT_EQ(host.snapshot().vms[0].actual_kib, kib(c.to_mib));
  }
}

TEST(SimHostTest, DeflatesAtDeflateRate) {
  auto vm = vmSpec("a", 2048);
  vm.actual_mib = 512;
  vm.driver.deflate_rate_mib_s = 1536;
  SimHost host(hostSpec(16384, {vm}));
  EXPECT_EQ(host.snapshot().vms[0].actual_kib, kib(512));
  ASSERT_TRUE(host.setTarget("a", kib(4096)));  // clamped to max
  EXPECT_DOUBLE_EQ(host.guest("a")->target_mib, 2048);
  host.advance(0.5);
  EXPECT_NEAR(host.guest("a")->actual_mib, 512 + 768, kTol);
  host.advance(0.5);
  EXPECT_EQ(host.snapshot().vms[0].actual_kib, kib(2048));
}

TEST(SimHostTest, InflatingIntoPageCacheIsSlower) {
  auto vm = vmSpec("a", 1024);
  vm.workload.cache_mib = 256;
  vm.driver.rate_mib_s = 512;  // 128 MiB/s from page cache
  SimHost host(hostSpec(16384, {vm}));
  host.advance(4);  // cache fills at 64 MiB/s
  ASSERT_NEAR(host.guest("a")->cache_mib, 256, kTol);
  ASSERT_NEAR(host.guest("a")->free_mib, 1024 - 96 - 256, kTol);

  // 672 MiB free at 512 MiB/s (1.3125 s), then 128 MiB of cache at 128 MiB/s (1 s).
  ASSERT_TRUE(host.setTarget("a", kib(224)));
  host.advance(1.3);
  EXPECT_NEAR(host.guest("a")->actual_mib, 1024 - 1.3 * 512, kTol);
  EXPECT_NEAR(host.guest("a")->cache_mib, 256, kTol);
  host.advance(1.0);  // t = 2.3 s: 0.0125 s of cache left
  EXPECT_NEAR(host.guest("a")->actual_mib, 224 + 0.0125 * 128, kTol);
  host.advance(0.1);
  EXPECT_NEAR(host.guest("a")->actual_mib, 224, kTol);
  EXPECT_NEAR(host.guest("a")->cache_mib, 128, kTol);
  EXPECT_NEAR(host.guest("a")->free_mib, 0, kTol);
  EXPECT_EQ(host.guest("a")->counters.swapped_out_mib, 0);

  // The missing file working set refaults: 128 MiB missing x 2 faults/s per MiB.
  const double before = host.guest("a")->counters.major_faults;
  host.advance(10);
  EXPECT_NEAR(host.guest("a")->counters.major_faults - before, 128 * 2 * 10, 1e-6);
}

TEST(SimHostTest, SqueezedBelowWorkingSetSwaps) {
  auto vm = vmSpec("a", 1024);
  vm.swap_mib = 512;
  vm.driver.pressure_rate_mib_s = 8;
  holdWorkingSet(vm, 600);
  SimHost host(hostSpec(16384, {vm}));
  ASSERT_TRUE(host.setTarget("a", kib(512)));  // 184 MiB below kernel + working set

  // 328 MiB free go at 512 MiB/s (0.640625 s), then anon memory at 8 MiB/s into swap.
  host.advance(5);
  const GuestState* g = host.guest("a");
  EXPECT_NEAR(g->anon_swapped_mib, (5 - 0.640625) * 8, kTol);
  EXPECT_NEAR(g->actual_mib, 1024 - 328 - (5 - 0.640625) * 8, kTol);

  host.advance(25);
  EXPECT_NEAR(g->actual_mib, 512, kTol);
  EXPECT_NEAR(g->anon_resident_mib, 416, kTol);
  EXPECT_NEAR(g->anon_swapped_mib, 184, kTol);
  EXPECT_NEAR(g->counters.swapped_out_mib, 184, kTol);
  EXPECT_EQ(g->counters.oom_kills, 0);

  // Thrash: (S / W) x 2000 major faults a second.
  const double before = g->counters.major_faults;
  host.advance(10);
  EXPECT_NEAR(g->counters.major_faults - before, 184.0 / 600 * 2000 * 10, 1e-6);

  // Given memory back, swapped pages return at 64 MiB/s, 256 major faults per MiB.
  ASSERT_TRUE(host.setTarget("a", kib(1024)));
  host.advance(1);
  EXPECT_NEAR(g->counters.swapped_in_mib, 64, kTol);
  host.advance(5);
  EXPECT_NEAR(g->anon_swapped_mib, 0, kTol);
  EXPECT_NEAR(g->anon_resident_mib, 600, kTol);
  EXPECT_NEAR(g->counters.swapped_in_mib, 184, kTol);
  const GuestStats stats = host.snapshot().vms[0].guest;  // reported at t = 46 s
  EXPECT_EQ(stats.swap_out_kib, kib(184));
  EXPECT_EQ(stats.swap_in_kib, kib(184));
  EXPECT_EQ(host.totalSwappedOutMib(), g->counters.swapped_out_mib);
  EXPECT_EQ(host.totalOomKills(), 0);
}

// Linux's virtio_balloon allocates its pages with __GFP_NORETRY: inflating never calls the OOM
// killer. A guest without swap gives what is free (and its cache), and the balloon stops short
// until the workload lets go. (The simulator killed the workload here until issue 16.)
TEST(SimHostTest, SqueezedWithoutSwapTheBalloonStopsShortAndKillsNothing) {
  auto vm = vmSpec("a", 1024);
  holdWorkingSet(vm, 600, /*duration_s=*/5, /*next_mib=*/300);
  SimHost host(hostSpec(16384, {vm}));
  ASSERT_TRUE(host.setTarget("a", kib(512)));
  host.advance(2);  // 1024 - 96 kernel - 600 held: 328 MiB free, gone at 0.640625 s
  const GuestState* g = host.guest("a");
  EXPECT_NEAR(g->actual_mib, 696, kTol);
  EXPECT_EQ(g->counters.oom_kills, 0);
  EXPECT_NEAR(g->anon_resident_mib, 600, kTol);
  host.advance(3.1);  // t = 5.1: the workload is down to 300 MiB, the balloon goes on
  EXPECT_EQ(g->wanted_anon_mib, 300);
  host.advance(1);
  EXPECT_NEAR(g->actual_mib, 512, kTol);
  EXPECT_EQ(host.totalOomKills(), 0);
}

// A workload that needs more than its guest has is killed when it asks, and restarts after
// restart_s into the same room: killed again.
TEST(SimHostTest, AWorkloadTooBigForItsGuestIsKilledAndRestarts) {
  auto vm = vmSpec("a", 1024);
  vm.actual_mib = 512;  // 416 MiB of room for 600
  vm.workload.restart_s = 10;
  holdWorkingSet(vm, 600);
  SimHost host(hostSpec(16384, {vm}));
  const GuestState* g = host.guest("a");
  EXPECT_EQ(g->counters.oom_kills, 1);
  EXPECT_EQ(g->anon_resident_mib, 0);
  EXPECT_EQ(g->wanted_anon_mib, 0);
  host.advance(9.9);
  EXPECT_EQ(g->counters.oom_kills, 1);
  host.advance(0.2);  // restarted at t = 10 into the same room: killed again
  EXPECT_EQ(g->counters.oom_kills, 2);
  ASSERT_TRUE(host.setTarget("a", kib(1024)));
  host.advance(10.1);  // restarted at t = 20 with room: it lives
  EXPECT_EQ(g->counters.oom_kills, 2);
  EXPECT_NEAR(g->anon_resident_mib, 600, kTol);
  EXPECT_EQ(host.totalOomKills(), 2);
}

TEST(SimHostTest, SwapThatRunsOutStopsTheBalloon) {
  auto vm = vmSpec("a", 1024);
  vm.swap_mib = 100;
  vm.driver.pressure_rate_mib_s = 50;
  holdWorkingSet(vm, 600);
  SimHost host(hostSpec(16384, {vm}));
  ASSERT_TRUE(host.setTarget("a", kib(512)));  // needs 184 MiB of swap, has 100
  host.advance(10);
  const GuestState* g = host.guest("a");
  EXPECT_EQ(g->counters.oom_kills, 0);
  EXPECT_NEAR(g->counters.swapped_out_mib, 100, kTol);
  EXPECT_NEAR(g->anon_swapped_mib, 100, kTol);
  EXPECT_NEAR(g->actual_mib, 596, kTol);  // 328 free and 100 swapped out, then no further
}

// --- workload and page cache ------------------------------------------------------------------

TEST(SimHostTest, PageCacheFillsTowardItsWorkingSet) {
  auto vm = vmSpec("a", 2048);
  vm.workload.cache_mib = 256;
  auto small = vmSpec("b", 512);
  small.workload.cache_mib = 256;
  holdWorkingSet(small, 300);  // leaves 116 MiB free for cache
  SimHost host(hostSpec(16384, {vm, small}));
  EXPECT_EQ(host.guest("a")->cache_mib, 0);
  struct Case {
    double t_s;
    double cache_a;
    double cache_b;
  };
  for (const Case& c :
       std::vector<Case>{{1, 64, 64}, {2, 128, 116}, {4, 256, 116}, {60, 256, 116}}) {
    host.advance(c.t_s - host.now());
    EXPECT_NEAR(host.guest("a")->cache_mib, c.cache_a, kTol) << c.t_s;
    EXPECT_NEAR(host.guest("b")->cache_mib, c.cache_b, kTol) << c.t_s;
  }
  EXPECT_NEAR(host.guest("b")->free_mib, 0, kTol);
}

TEST(SimHostTest, GrowingWorkingSetTakesFreeThenCacheThenSwap) {
  auto vm = vmSpec("a", 1024);
  vm.workload.cache_mib = 256;
  vm.swap_mib = 1024;
  vm.workload.phases = {level(200, 10), level(700, 10), level(800, 10), level(1000)};
  SimHost host(hostSpec(16384, {vm}));
  struct Case {
    double t_s;
    double resident;
    double cache;
    double free;
    double swapped;
  };
  const std::vector<Case> cases = {
      {9.9, 200, 256, 472, 0},  // cache full, rest free
      {10, 700, 228, 0, 0},     // 472 from free, 28 from cache
      {20, 800, 128, 0, 0},     // 100 more from cache
      {30, 928, 0, 0, 72},      // cache gone, 72 MiB of older pages to swap
  };
  for (const auto& c : cases) {
    host.advance(c.t_s - host.now());
    const GuestState* g = host.guest("a");
    EXPECT_NEAR(g->anon_resident_mib, c.resident, kTol) << c.t_s;
    EXPECT_NEAR(g->cache_mib, c.cache, kTol) << c.t_s;
    EXPECT_NEAR(g->free_mib, c.free, kTol) << c.t_s;
    EXPECT_NEAR(g->anon_swapped_mib, c.swapped, kTol) << c.t_s;
  }
  EXPECT_EQ(host.guest("a")->counters.oom_kills, 0);
  // Every MiB the working set grew by was first touched: 256 minor faults each.
  EXPECT_NEAR(host.guest("a")->counters.minor_faults, 1000 * 256, 1e-6);
}

TEST(SimHostTest, ShrinkingWorkingSetFreesResidentThenSwapped) {
  auto vm = vmSpec("a", 1024);
  vm.swap_mib = 512;
  holdWorkingSet(vm, 1000, /*duration_s=*/10, /*next_mib=*/100);
  SimHost host(hostSpec(16384, {vm}));
  EXPECT_NEAR(host.guest("a")->anon_swapped_mib, 72, kTol);
  host.advance(10);  // 900 MiB go: 928 resident -> 28, swap untouched, then 6.4 MiB swapped in
  const GuestState* g = host.guest("a");
  EXPECT_NEAR(g->anon_resident_mib + g->anon_swapped_mib, 100, kTol);
  EXPECT_NEAR(g->anon_swapped_mib, 72 - 6.4, kTol);
  host.advance(2);
  EXPECT_NEAR(g->anon_swapped_mib, 0, kTol);
  EXPECT_NEAR(g->anon_resident_mib, 100, kTol);
}

// --- stats ------------------------------------------------------------------------------------

TEST(SimHostTest, StatsUpdateOnlyEveryPeriod) {
  auto vm = vmSpec("a", 2048);
  vm.workload.cache_mib = 256;
  vm.driver.stats_period_s = 2;
  holdWorkingSet(vm, 500);
  SimHost host(hostSpec(16384, {vm}));
  EXPECT_EQ(host.snapshot().vms[0].guest.last_update_s, 0);  // not reported yet
  EXPECT_FALSE(host.snapshot().vms[0].guest.available_kib.has_value());
  host.advance(1.9);
  EXPECT_FALSE(host.snapshot().vms[0].guest.available_kib.has_value());

  host.advance(0.1);  // t = 2: first report
  const GuestState* g = host.guest("a");
  GuestStats s = host.snapshot().vms[0].guest;
  EXPECT_EQ(s.last_update_s, 2.0);
  EXPECT_EQ(s.disk_caches_kib, kib(128));
  EXPECT_EQ(s.unused_kib, kib(2048 - 96 - 500 - 128));
  EXPECT_EQ(s.available_kib, kib(2048 - 96 - 500));
  EXPECT_EQ(s.usable_kib, s.available_kib);
  EXPECT_EQ(s.total_kib, kib(2048));
  EXPECT_EQ(s.swap_in_kib, 0);
  EXPECT_EQ(s.swap_out_kib, 0);
  EXPECT_EQ(s.minor_faults, 500 * 256);
  EXPECT_EQ(s.major_faults, static_cast<int64_t>(g->counters.major_faults));

  // Between reports the guest's numbers hold still while actual moves.
  ASSERT_TRUE(host.setTarget("a", kib(1024)));
  host.advance(1.9);
  const VmSample v = host.snapshot().vms[0];
  EXPECT_EQ(v.guest.last_update_s, 2.0);
  EXPECT_EQ(v.guest.total_kib, kib(2048));
  EXPECT_EQ(v.actual_kib, kib(1024 + 0.1 * 512));  // actual is always current
  host.advance(0.1);
  EXPECT_EQ(host.snapshot().vms[0].guest.last_update_s, 4.0);
  EXPECT_EQ(host.snapshot().vms[0].guest.total_kib, kib(1024));
  host.advance(3);
  EXPECT_EQ(host.snapshot().vms[0].guest.last_update_s, 6.0);
}

TEST(SimHostTest, ReportsCountFromTheVmsStart) {
  auto vm = vmSpec("a", 1024);
  vm.start_s = 0.55;
  vm.driver.stats_period_s = 1;
  SimHost host(hostSpec(16384, {vm}));
  for (int i = 0; i < 3; ++i) {
    host.advance(1);
  }
  EXPECT_EQ(host.snapshot().vms[0].guest.last_update_s, 2.55);
}

TEST(SimHostTest, StatsPeriodZeroNeverReports) {
  auto vm = vmSpec("a", 1024);
  vm.driver.stats_period_s = 0;
  SimHost host(hostSpec(16384, {vm}));
  host.advance(100);
  const VmSample v = host.snapshot().vms[0];
  EXPECT_EQ(v.stats_period_s, 0);
  EXPECT_EQ(v.guest.last_update_s, 0);
  EXPECT_FALSE(v.guest.available_kib || v.guest.unused_kib || v.guest.usable_kib ||
               v.guest.disk_caches_kib || v.guest.swap_in_kib || v.guest.swap_out_kib ||
               v.guest.major_faults || v.guest.minor_faults || v.guest.total_kib);
}

// --- host and lifecycle -----------------------------------------------------------------------

TEST(SimHostTest, HostAvailableIsTotalMinusEverythingRunning) {
  auto a = vmSpec("a", 2048);
  auto b = vmSpec("b", 1024);
  b.actual_mib = 768;
  auto c = vmSpec("c", 1024);
  c.start_s = 5;
  SimHost host(hostSpec(8192, {a, b, c}));
  EXPECT_EQ(host.hostTotalKib(), kib(8192));
  EXPECT_EQ(host.hostAvailableKib(), kib(8192 - 512 - (2048 + 32) - (768 + 32)));
  host.advance(5);
  EXPECT_EQ(host.hostAvailableKib(), kib(8192 - 512 - (2048 + 32) - (768 + 32) - (1024 + 32)));
  ASSERT_TRUE(host.setTarget("a", kib(1024)));
  host.advance(10);
  const Snapshot s = host.snapshot();
  EXPECT_EQ(s.host.total_kib, kib(8192));
  EXPECT_EQ(s.host.available_kib, kib(8192 - 512 - (1024 + 32) - (768 + 32) - (1024 + 32)));
  EXPECT_FALSE(s.host.psi_some_avg10.has_value());
  EXPECT_EQ(host.hostShortfallMib(), 0);
}

TEST(SimHostTest, OvercommittedHostReportsZeroAvailableAndTheShortfall) {
  SimHost host(hostSpec(2048, {vmSpec("a", 2048), vmSpec("b", 1024)}));
  EXPECT_EQ(host.hostAvailableKib(), 0);
  EXPECT_EQ(host.snapshot().host.available_kib, 0);
  EXPECT_DOUBLE_EQ(host.hostShortfallMib(), 512 + 2080 + 1056 - 2048);
}

TEST(SimHostTest, VmsAppearAndDisappearOnSchedule) {
  auto b = vmSpec("b", 1024);
  b.start_s = 3;
  b.stop_s = 7;
  auto a = vmSpec("a", 2048);
  SimHost host(hostSpec(8192, {b, a}));
  using Names = std::vector<std::string>;
  EXPECT_EQ(host.names(), (Names{"b", "a"}));
  struct Case {
    double t_s;
    Names running;
  };
  const std::vector<Case> cases = {
      {0, {"a"}}, {2.9, {"a"}}, {3, {"b", "a"}}, {6.9, {"b", "a"}}, {7, {"a"}}, {100, {"a"}},
  };
  for (const auto& c : cases) {
    host.advance(c.t_s - host.now());
    const Snapshot s = host.snapshot();
    EXPECT_DOUBLE_EQ(s.time_s, c.t_s);
    EXPECT_EQ(names(s), c.running) << c.t_s;
    EXPECT_EQ(host.setTarget("b", kib(512)), c.running.size() == 2) << c.t_s;
    EXPECT_EQ(host.guest("b")->running, c.running.size() == 2) << c.t_s;
  }
  // The stopped VM's memory went back to the host.
  EXPECT_EQ(host.hostAvailableKib(), kib(8192 - 512 - 2048 - 32));
}

TEST(SimHostTest, SampleDescribesTheVm) {
  auto vm = vmSpec("a", 2048);
  vm.actual_mib = 1536;
  vm.driver.stats_period_s = 5;
  SimHost host(hostSpec(8192, {vm}));
  const VmSample v = host.snapshot().vms[0];
  EXPECT_EQ(v.name, "a");
  EXPECT_EQ(v.max_kib, kib(2048));
  EXPECT_EQ(v.actual_kib, kib(1536));
  EXPECT_EQ(v.rss_kib, kib(1536));
  EXPECT_TRUE(v.has_balloon);
  EXPECT_TRUE(v.running);
  EXPECT_EQ(v.stats_period_s, 5);
}

TEST(SimHostTest, TargetsAreClampedAndUnknownVmsRefused) {
  SimHost host(hostSpec(8192, {vmSpec("a", 1024)}));
  EXPECT_FALSE(host.setTarget("nope", kib(512)));
  EXPECT_EQ(host.guest("nope"), nullptr);
  ASSERT_TRUE(host.setTarget("a", -5));
  EXPECT_EQ(host.guest("a")->target_mib, 0);
  host.advance(10);  // the balloon cannot take the kernel
  EXPECT_NEAR(host.guest("a")->actual_mib, 96, kTol);
}

TEST(SimHostTest, SameSpecAndCallsGiveSameNumbers) {
  auto vm = vmSpec("a", 1024);
  vm.workload.cache_mib = 200;
  vm.swap_mib = 256;
  config::PhaseSpec p;
  p.kind = config::PhaseSpec::Kind::kPeriodic;
  p.low_mib = 200;
  p.high_mib = 900;
  p.period_s = 7;
  vm.workload.phases = {p};
  auto run = [&] {
    SimHost host(hostSpec(4096, {vm}));
    host.advance(3.3);
    host.setTarget("a", kib(600));
    host.advance(30.05);
    return host.guest("a")->counters.major_faults + host.guest("a")->actual_mib;
  };
  EXPECT_EQ(run(), run());
}

// --- channel ----------------------------------------------------------------------------------

TEST(SimChannelTest, ReadsSnapshotsAndPushesTargets) {
  SimHost host(hostSpec(8192, {vmSpec("a", 1024)}));
  SimChannel channel(host);
  EXPECT_EQ(channel.name(), "sim");
  host.advance(1.5);
  Result<Snapshot> s = channel.read();
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->time_s, 1.5);
  EXPECT_EQ(names(*s), std::vector<std::string>{"a"});

  EXPECT_TRUE(channel.push("a", kib(512)).ok());
  EXPECT_EQ(host.guest("a")->target_mib, 512);
  const Status missing = channel.push("x", kib(512));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message, "sim: no running VM 'x'");
}

// One driver model: ask a 2048 MiB guest holding 100 MiB for 1024 MiB at t = 0, look at t = 10.
struct ModelCase {
  const char* model;
  void (*tune)(config::DriverSpec&);
  double want_actual_mib;   // the guest's real size at t = 10
  double want_claimed_mib;  // what the channel reports as actual at t = 10
  bool want_stats_at_10;    // whether stats are still fresh at t = 10
};

TEST(SimDriverModelTest, EachModelMovesAndReportsAsDescribed) {
  const ModelCase cases[] = {
      {"ideal", [](config::DriverSpec&) {}, 1024, 1024, true},
      {"ideal", [](config::DriverSpec& d) { d.short_kib = 8; }, 1024 + 8.0 / 1024,
       1024 + 8.0 / 1024, true},
      {"slow", [](config::DriverSpec& d) { d.pressure_rate_mib_s = 4; }, 2048 - 40, 2048 - 40,
       true},
      {"stuck", [](config::DriverSpec& d) { d.from_s = 1; }, 2048 - 512, 2048 - 512, true},
      {"intermittent",
       [](config::DriverSpec& d) {
         d.rate_mib_s = 10;
         d.work_s = 2;
         d.stall_s = 3;
       },
       2048 - 40, 2048 - 40, true},
      {"hidden-floor", [](config::DriverSpec& d) { d.limit_mib = 1500; }, 1500, 1500, true},
      {"no-driver", [](config::DriverSpec&) {}, 2048, 2048, false},
      {"stale-stats", [](config::DriverSpec& d) { d.freeze_at_s = 3; }, 1024, 1024, false},
      {"lying", [](config::DriverSpec&) {}, 2048, 1024, true},
  };
  for (const auto& c : cases) {
    auto vm = vmSpec("g", 2048);
    holdWorkingSet(vm, 100);
    vm.driver.model = c.model;
    c.tune(vm.driver);
    SimHost host(hostSpec(8192, {vm}));
    host.advance(0);
    ASSERT_TRUE(host.setTarget("g", kib(1024))) << c.model;
    host.advance(10);
    EXPECT_NEAR(host.guest("g")->actual_mib, c.want_actual_mib, 0.01) << c.model;
    const Snapshot snap = host.snapshot();
    ASSERT_EQ(snap.vms.size(), 1U);
    EXPECT_NEAR(kibToMib(snap.vms[0].actual_kib), c.want_claimed_mib, 0.01) << c.model;
    EXPECT_EQ(snap.vms[0].rss_kib, kib(host.guest("g")->actual_mib)) << c.model;
    EXPECT_EQ(snap.vms[0].guest.last_update_s >= 9.0, c.want_stats_at_10) << c.model;
  }
}

TEST(SimDriverModelTest, HiddenCeilingStopsGrowth) {
  auto vm = vmSpec("g", 2048);
  vm.actual_mib = 512;
  vm.driver.model = "hidden-ceiling";
  vm.driver.limit_mib = 900;
  SimHost host(hostSpec(8192, {vm}));
  host.advance(0);
  host.setTarget("g", kib(2048));
  host.advance(5);
  EXPECT_NEAR(host.guest("g")->actual_mib, 900, kTol);
}

TEST(SimDriverModelTest, ANewWorkloadStartsItsPhasesOver) {
  auto vm = vmSpec("g", 2048);
  holdWorkingSet(vm, 100);
  SimHost host(hostSpec(8192, {vm}));
  host.advance(5);
  config::WorkloadSpec w;
  w.kernel_mib = 96;
  w.cache_mib = 0;
  w.phases = {level(700)};
  ASSERT_TRUE(host.setWorkload("g", w));
  host.advance(0.1);
  EXPECT_NEAR(host.guest("g")->wanted_anon_mib, 700, kTol);
  EXPECT_FALSE(host.setWorkload("nope", w));
}

}  // namespace
}  // namespace balloond::sim
