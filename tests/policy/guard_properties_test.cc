// SPDX-License-Identifier: Apache-2.0
// Property tests: for every registered policy, on random snapshots (seeded, so every run checks
// the same cases), the guards' promises hold for every decision.

#include <gtest/gtest.h>

#include <map>
#include <random>

#include "policy/guards.h"
#include "policy/registry.h"
#include "tests/policy/test_views.h"

namespace balloond::policy {
namespace {

using testing::InputBuilder;

// A random host, random VMs (sizes, stats that may be missing or absurd, floors, ceilings,
// states) and random guard settings.
struct World {
  std::mt19937_64 rng;
  explicit World(uint64_t seed) : rng(seed) {}

  double uniform(double lo, double hi) { return std::uniform_real_distribution<>(lo, hi)(rng); }
  bool chance(double p) { return uniform(0, 1) < p; }

  Guards guards() {
    return Guards{.inflate_step_kib = mibToKib(uniform(1, 512)),
                  .inflate_step_fraction = uniform(0.01, 1),
                  .emergency_step_factor = uniform(1, 8),
                  .deflate_step_kib = mibToKib(uniform(1, 2048)),
                  .min_change_kib = mibToKib(uniform(0, 32)),
                  .need_margin_kib = mibToKib(uniform(0, 256)),
                  .grow_holdoff_s = uniform(0, 60),
                  .host_reserve_kib = mibToKib(uniform(0, 4096))};
  }

  void snapshot(InputBuilder& b, double now, int vms) {
    b.now(now).host(uniform(1024, 65536), chance(0.3) ? uniform(0, 1024) : uniform(0, 32768));
    if (chance(0.5)) {
      b.hostFree(uniform(0, 32768));
    }
    for (int i = 0; i < vms; ++i) {
      const double max = uniform(128, 8192);
      const double actual = uniform(64, max);
      const std::optional<double> available =
          chance(0.1)
              ? std::nullopt
              : std::optional<double>(chance(0.05) ? uniform(0, 2 * max) : uniform(0, actual));
      const double floor = chance(0.5) ? uniform(0, max) : 0;
      const double target = chance(0.5) ? actual : uniform(0, max);
      b.vm("vm" + std::to_string(i), max, actual, available, floor, target);
      if (available && chance(0.8)) {
        b.unused(uniform(0, *available));
      }
      if (chance(0.7)) {
        b.counters(static_cast<int64_t>(now * uniform(0, 500)), now * uniform(0, 2), now);
      }
      if (chance(0.3)) {
        b.ceiling(uniform(floor, max));
      }
      if (chance(0.3)) {
        b.shares(uniform(1, 10000));
      }
      const double state = uniform(0, 1);
      if (state < 0.05) {
        b.excluded();
      } else if (state < 0.1) {
        b.stale();
      } else if (state < 0.15) {
        b.ack(AckState::kStuck);
      } else if (state < 0.2) {
        b.ack(AckState::kUncooperative);
      } else if (state < 0.23) {
        b.ack(AckState::kNoDriver);
      } else if (state < 0.4) {
        b.ack(AckState::kConverging);
      }
    }
  }
};

// Checks every promise for one tick's final decisions; returns how many decisions it checked.
int checkPromises(const PolicyInput& input, const std::vector<Decision>& out, const Guards& g,
                  const PolicyState& state, const std::string& where) {
  std::map<std::string, const Decision*> by_vm;
  for (const auto& d : out) {
    EXPECT_TRUE(by_vm.emplace(d.vm, &d).second) << where << ": two decisions for " << d.vm;
    EXPECT_FALSE(d.reason.empty()) << where;
  }
  const bool emergency = input.host.available_kib < g.host_reserve_kib;
  int64_t growth = 0;       // beyond every floor: out of memory above the reserve
  int64_t need_growth = 0;  // beyond the configured floor: out of what the host has
  for (const auto& vm : input.vms) {
    const std::string at = where + " vm " + vm.sample->name + " (actual " +
                           std::to_string(vm.sample->actual_kib) + ", target in force " +
                           std::to_string(vm.target_kib) + ", state " +
                           std::string(toString(vm.ack)) + ")";
    const bool managed =
        !vm.limits.excluded && vm.ack != AckState::kNoDriver && vm.ack != AckState::kExcluded;
    auto it = by_vm.find(vm.sample->name);
    EXPECT_EQ(it != by_vm.end(), managed) << at << ": excluded VMs are never touched";
    if (it == by_vm.end()) {
      continue;
    }
    const int64_t target = it->second->target_kib;
    const int64_t actual = vm.sample->actual_kib;
    const int64_t floor = effectiveFloorKib(vm, g);
    const int64_t slack = g.min_change_kib;  // hysteresis may keep the target in force
    // The floor holds, except that growth to a need-based floor stops where host memory ends,
    // and a target in force within the deadband under the need-based floor may stay.
    const int64_t configured = std::min(vm.limits.floor_kib, vm.limits.ceiling_kib);
    const int64_t need_slack = target == vm.target_kib ? slack : 0;
    if (it->second->reason.find("host-reserve") == std::string::npos) {
      EXPECT_GE(target, std::max(configured, floor - need_slack)) << at << ": floor";
    } else {
      EXPECT_GE(target, std::min(floor, std::max(actual, configured))) << at << ": floor";
    }
    EXPECT_LE(target, vm.limits.ceiling_kib) << at << ": ceiling";
    if (target < actual) {  // a step at most, unless the ceiling is lower still
      EXPECT_GE(target,
                std::min(actual - inflateStepKib(vm, g, emergency) - slack, vm.limits.ceiling_kib))
          << at << ": step";
    }
    if (target > actual) {
      EXPECT_LE(target, std::max(actual + g.deflate_step_kib, floor) + slack)
          << at << ": deflate step, reason " << it->second->reason << " min_change "
          << g.min_change_kib;
    }
    auto h = state.vms.find(vm.sample->name);
    const bool held =
        h != state.vms.end() && input.now_s - h->second.last_grow_s < g.grow_holdoff_s;
    const int64_t kept = std::min({actual, vm.target_kib, vm.limits.ceiling_kib});
    if (target < kept - slack) {
      EXPECT_TRUE(vm.stats_fresh) << at << ": shrunk on stale stats";
      EXPECT_TRUE(canShrink(vm.ack)) << at << ": shrunk a guest that does not follow";
      EXPECT_FALSE(held) << at << ": shrunk within the grow hold-off";
    }
    if (emergency) {
      EXPECT_LE(target, std::max(actual, floor)) << at << ": grew under the reserve";
    }
    growth += std::max<int64_t>(0, target - std::max(actual, floor));
    need_growth += std::max<int64_t>(0, target - std::max(actual, configured));
  }
  EXPECT_LE(growth, std::max<int64_t>(0, input.host.available_kib - g.host_reserve_kib))
      << where << ": growth beyond the host reserve";
  EXPECT_LE(need_growth, std::max<int64_t>(0, input.host.available_kib))
      << where << ": growth beyond what the host has";
  return static_cast<int>(out.size());
}

TEST(GuardPropertiesTest, EveryPolicyOnRandomSnapshotsKeepsEveryPromise) {
  int checked = 0;
  for (const auto& name : Registry::instance().names()) {
    for (uint64_t seed = 1; seed <= 200; ++seed) {
      World world(seed);
      auto policy = Registry::instance().create(name, {});
      ASSERT_TRUE(policy.ok());
      const Guards g = world.guards();
      const int vms = static_cast<int>(world.uniform(1, 12));
      PolicyState state;
      for (int tick = 1; tick <= 6; ++tick) {
        InputBuilder b;
        world.snapshot(b, tick * 5.0, vms);
        const PolicyInput& input = b.build();
        for (auto& [vm, h] : state.vms) {
          if (world.chance(0.2)) {
            h.last_grow_s = input.now_s - world.uniform(0, 60);  // a recent grow
          }
        }
        const auto proposed = (*policy)->decide(input, state);
        const auto out = applyGuards(input, proposed, g, state);
        checked +=
            checkPromises(input, out, g, state,
                          name + " seed " + std::to_string(seed) + " tick " + std::to_string(tick));
      }
    }
  }
  EXPECT_GT(checked, 10000);
}

}  // namespace
}  // namespace balloond::policy
