// SPDX-License-Identifier: Apache-2.0
// Waldspurger's idle memory tax experiment (OSDI 2002, section 5.3), on the simulated host: two VMs
// capped at 256 MB with equal shares share 358 MB; one is idle with a small active set, the other
// fully active. With no tax they split memory evenly; with tau = 0.75 memory moves from the idle
// VM to the active one. Prints the allocations:
//   build/tests/daemon_tests --gtest_filter='ShareIdleTax*'

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <cstdio>

#include "daemon/compile.h"
#include "daemon/controller.h"
#include "daemon/sim/channel.h"
#include "daemon/sim/host.h"
#include "daemon/sim/virtual_run.h"

namespace balloond {
namespace {

config::SimVmSpec vm(const std::string& name, double anon_mib, double swap_mib) {
  config::SimVmSpec v;
  v.name = name;
  v.max_mib = 256;
  v.actual_mib = 179;  // the even split to start from
  v.swap_mib = swap_mib;
  v.workload.kernel_mib = 16;
  v.workload.cache_mib = 0;
  config::PhaseSpec p;
  p.kind = config::PhaseSpec::Kind::kConstant;
  p.mib = anon_mib;
  v.workload.phases = {p};
  return v;
}

struct Allocation {
  double idle_mib;
  double active_mib;
};

Allocation runWithTax(double tax_rate) {
  config::Config c;
  c.default_floor_mib = 0;
  c.channel.sim.total_mib = 358;  // all of it for the two VMs
  c.channel.sim.overhead_mib = 0;
  c.channel.sim.per_vm_overhead_mib = 0;
  c.channel.sim.vms = {
      vm("idle", 24, 0),      // active set: kernel 16 + 24 = 40 MB
      vm("active", 240, 256)  // kernel 16 + 240 = 256 MB: it uses all it can get, and swaps
  };
  c.policy = {.name = "share", .params = {{"tax_rate", tax_rate}, {"host_free_target", 0}}};
  c.guards.host_reserve_mib = 0;
  c.guards.need_margin_mib = 8;
  c.guards.min_change_mib = 1;
  c.guards.inflate_step_mib = 16;
  sim::SimHost host(c.channel.sim);
  SimChannel channel(host);
  auto policy = compile(c);
  EXPECT_TRUE(policy.ok());
  Controller controller(channel, std::move(policy->policy), std::move(policy->settings));
  runOnVirtualClock(host, controller, 1, 300);
  return {host.guest("idle")->actual_mib, host.guest("active")->actual_mib};
}

TEST(ShareIdleTaxTest, IdleMemoryMovesToTheActiveVmOnlyWithATax) {
  spdlog::set_level(spdlog::level::off);
  const Allocation plain = runWithTax(0);
  const Allocation taxed = runWithTax(0.75);
  std::printf(
      "\nidle memory tax, 358 MB shared, two VMs capped at 256 MB, equal shares:\n"
      "  tau = 0:    idle %.0f MB, active %.0f MB\n"
      "  tau = 0.75: idle %.0f MB, active %.0f MB\n",
      plain.idle_mib, plain.active_mib, taxed.idle_mib, taxed.active_mib);
  // No tax: shares alone split memory evenly, whatever the VMs do with it.
  EXPECT_NEAR(plain.idle_mib, 179, 2);
  EXPECT_NEAR(plain.active_mib, 179, 2);
  // Tax 0.75 (k = 4): the idle VM keeps its 40 MB active set plus a quarter of the cost it
  // would have, 40 + (c - 40) / 4, and the active VM reaches its 256 MB cap: idle = 102 MB.
  EXPECT_NEAR(taxed.active_mib, 256, 2);
  EXPECT_NEAR(taxed.idle_mib, 102, 4);
  EXPECT_LE(taxed.idle_mib + taxed.active_mib, 358 + 0.5);
}

}  // namespace
}  // namespace balloond
