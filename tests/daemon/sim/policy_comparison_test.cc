// SPDX-License-Identifier: Apache-2.0
// Every built-in policy on the same mixed workload (config/examples/mixed.yaml), on the simulated
// host: memory reclaimed, OOM kills and time under pressure, side by side. Prints the table:
//   build/tests/daemon_tests --gtest_filter='PolicyComparison*'

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <cstdio>

#include "config/loader.h"
#include "daemon/compile.h"
#include "daemon/controller.h"
#include "daemon/sim/channel.h"
#include "daemon/sim/host.h"
#include "daemon/sim/virtual_run.h"
#include "policy/registry.h"

namespace balloond {
namespace {

constexpr double kDurationS = 900;

// What one run did. Memory in MiB, times in VM-seconds.
struct Outcome {
  double reclaimed_avg_mib = 0;   // balloons (max - actual) of running VMs, averaged over ticks
  double host_avail_avg_mib = 0;  // host available memory, averaged over ticks
  double host_avail_min_mib = 1e18;
  int64_t oom_kills = 0;
  double pressure_vm_s = 0;  // a VM with pages in swap, or free + cache under 2% of its size
  double swapped_out_mib = 0;
  int64_t pushes = 0;
  std::string oom_vms;  // which VMs were killed, and how often
};

Outcome run(const std::string& file, const std::string& policy, double duration_s) {
  auto cfg = config::loadConfigFile(file);
  EXPECT_TRUE(cfg.ok()) << cfg.error().message;
  if (cfg->policy.name != policy) {  // the file's parameters are its own policy's
    cfg->policy = config::PolicySpec{.name = policy, .params = {}};
  }
  sim::SimHost host(cfg->channel.sim);
  SimChannel channel(host);
  auto p = compile(*cfg);
  EXPECT_TRUE(p.ok());
  Controller controller(channel, std::move(p->policy), std::move(p->settings));
  Outcome o;
  int64_t ticks = 0;
  runOnVirtualClock(host, controller, cfg->tick_s, duration_s, [&](const TickReport& r) {
    ++ticks;
    o.pushes += static_cast<int64_t>(r.changes.size());
    const double avail = kibToMib(host.hostAvailableKib());
    o.host_avail_avg_mib += avail;
    o.host_avail_min_mib = std::min(o.host_avail_min_mib, avail);
    for (const auto& vm : cfg->channel.sim.vms) {
      const sim::GuestState* g = host.guest(vm.name);
      if (!g->running) {
        continue;
      }
      o.reclaimed_avg_mib += vm.max_mib - g->actual_mib;
      const bool pressured =
          g->anon_swapped_mib > 1 || g->free_mib + g->cache_mib < 0.02 * g->actual_mib;
      o.pressure_vm_s += pressured ? cfg->tick_s : 0;
    }
    for (const auto& s : controller.status()) {
      EXPECT_GE(s.target_kib, s.floor_kib) << policy << " " << s.name;
      EXPECT_LE(s.target_kib, s.ceiling_kib) << policy << " " << s.name;
    }
  });
  o.reclaimed_avg_mib /= static_cast<double>(ticks);
  o.host_avail_avg_mib /= static_cast<double>(ticks);
  o.oom_kills = host.totalOomKills();
  for (const auto& name : host.names()) {
    if (const auto kills = host.guest(name)->counters.oom_kills; kills > 0) {
      o.oom_vms += " " + name + "x" + std::to_string(kills);
    }
  }
  o.swapped_out_mib = host.totalSwappedOutMib();
  return o;
}

// Every registered policy on one workload file, the table printed: {policy: outcome}.
std::map<std::string, Outcome> runEveryPolicy(const std::string& file, double duration_s) {
  spdlog::set_level(spdlog::level::off);
  std::map<std::string, Outcome> results;
  std::printf("\n%-12s %14s %14s %12s %6s %14s %12s %7s\n", "policy", "reclaimed_avg", "host_avail",
              "host_min", "OOMs", "pressure_vm_s", "swapped_out", "pushes");
  for (const auto& name : policy::Registry::instance().names()) {
    const Outcome o = run(file, name, duration_s);
    results[name] = o;
    std::printf("%-12s %10.0f MiB %10.0f MiB %8.0f MiB %6lld %14.0f %8.0f MiB %7lld%s\n",
                name.c_str(), o.reclaimed_avg_mib, o.host_avail_avg_mib, o.host_avail_min_mib,
                static_cast<long long>(o.oom_kills), o.pressure_vm_s, o.swapped_out_mib,
                static_cast<long long>(o.pushes), o.oom_vms.c_str());
  }
  std::printf("(%g s of virtual time on %s)\n", duration_s, file.c_str());
  return results;
}

TEST(PolicyComparisonTest, EveryPolicyOnTheMixedWorkload) {
  auto results = runEveryPolicy(BALLOOND_SOURCE_DIR "/config/examples/mixed.yaml", kDurationS);
  ASSERT_GE(results.size(), 5U);  // the five of issue 4, and any policy added since
  // Every policy reclaims (the VMs start with 6 GiB in balloons) and none needs more memory than
  // the host has for long.
  for (const auto& [name, o] : results) {
    EXPECT_GT(o.reclaimed_avg_mib, 7000) << name;
    EXPECT_GT(o.host_avail_avg_mib, 500) << name;
  }
  // The default policy (issue 16's goal on real guests): no OOM kills, no more time under
  // pressure than `pressure`, and at most half its pushes. On this chronically short host (about
  // 1.3 GiB available, reserve 1 GiB) it gives up room it keeps for peaks and swaps more than
  // `pressure` (870 against 513 MiB; 3619 before issue 16), but within twice. `pressure` too
  // kills nothing.
  const Outcome& by_default = results["margin"];
  EXPECT_EQ(by_default.oom_kills, 0);
  EXPECT_LE(by_default.swapped_out_mib, 2 * results["pressure"].swapped_out_mib);
  EXPECT_LE(by_default.pressure_vm_s, results["pressure"].pressure_vm_s);
  EXPECT_LE(by_default.pushes * 2, results["pressure"].pushes);
  EXPECT_EQ(results["pressure"].oom_kills, 0);
  // MOM shrinks every guest alike whenever the host is short: it spends the most time under
  // pressure.
  for (const auto& [name, o] : results) {
    EXPECT_LE(o.pressure_vm_s, results["mom"].pressure_vm_s) << name;
  }
}

// The simulated twin of the real-guest benchmark (bench/guests/sim-twin.yaml: the same six
// workloads, guards and host), 120 s like a run of bench/guests/run.sh, for BENCHMARKS.md to set
// beside the real guests. The default policy kills nothing here either.
TEST(PolicyComparisonTest, EveryPolicyOnTheRealGuestBenchTwin) {
  const auto results = runEveryPolicy(BALLOOND_SOURCE_DIR "/bench/guests/sim-twin.yaml", 120);
  EXPECT_EQ(results.at("margin").oom_kills, 0);
  EXPECT_GT(results.at("margin").reclaimed_avg_mib, 1024);
}

}  // namespace
}  // namespace balloond
