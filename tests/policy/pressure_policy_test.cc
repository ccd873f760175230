// SPDX-License-Identifier: Apache-2.0
#include "policy/pressure_policy.h"

#include <gtest/gtest.h>

#include "policy/registry.h"
#include "tests/policy/test_views.h"
#include "tests/policy/ticked_guest.h"

namespace balloond::policy {
namespace {

using testing::InputBuilder;
using testing::mib;
using testing::TickedGuest;

struct PressureCase {
  const char* what;
  double max, actual, available;
  int64_t faults_per_s;  // major faults in the second between two reports
  double swap_in_mib_s;
  double want;
  const char* want_reason;
};

TEST(PressurePolicyTest, ProbesDownUnderTheTargetAndBacksOffAboveIt) {
  // Target 256 KiB/s = 64 faults/s; probe 2% of actual; back-off 5% per unit over, at most 50%;
  // a probe leaves 5% of max (50 MiB) available.
  const PressureCase cases[] = {
      {"no pressure: full probe", 1000, 1000, 500, 0, 0, 980, "probe"},
      {"half the target: half a probe", 1000, 1000, 500, 32, 0, 990, "probe"},
      {"at the target: no probe", 1000, 1000, 500, 64, 0, 1000, "at-target"},
      {"3x the target: back off 10%", 1000, 800, 500, 192, 0, 880, "backoff"},
      {"swap-in counts: 1 MiB/s is 4x the target", 1000, 800, 500, 0, 1, 920, "backoff"},
      {"thrashing: at most 50%", 1000, 600, 500, 100000, 0, 900, "backoff"},
      {"a probe keeps the cushion", 1000, 1000, 60, 0, 0, 990, "probe"},
      // Under the 5% cushion: back at once to 10% of max (100 MiB) available.
      {"under the cushion: give it back now", 1000, 800, 20, 0, 0, 880, "available-low"},
  };
  for (const auto& c : cases) {
    PressurePolicy policy(PressurePolicy::Params{});
    PolicyState state;
    InputBuilder first;
    first.now(10).vm("vm", c.max, c.actual, c.available).counters(1000, 10, 10);
    policy.decide(first.build(), state);
    InputBuilder b;
    b.now(11).vm("vm", c.max, c.actual, c.available);
    b.counters(1000 + c.faults_per_s, 10 + c.swap_in_mib_s, 11);
    auto out = policy.decide(b.build(), state);
    ASSERT_EQ(out.size(), 1U) << c.what;
    EXPECT_NEAR(mib(out[0].target_kib), c.want, 0.01) << c.what;
    EXPECT_EQ(out[0].reason, c.want_reason) << c.what;
  }
}

TEST(PressurePolicyTest, NoProbingOnStaleOrMissingStats) {
  PressurePolicy policy(PressurePolicy::Params{});
  PolicyState state;
  InputBuilder b;
  b.vm("stale", 1000, 1000, 500, 0, 990).stale().vm("silent", 1000, 1000, std::nullopt, 0, 970);
  auto out = policy.decide(b.build(), state);
  EXPECT_EQ(mib(out[0].target_kib), 990);
  EXPECT_EQ(out[0].reason, "stale-stats");
  EXPECT_EQ(mib(out[1].target_kib), 970);
  EXPECT_EQ(out[1].reason, "no-stats");
}

TEST(PressurePolicyTest, AGuestRebootDoesNotLookLikeNegativePressure) {
  PressurePolicy policy(PressurePolicy::Params{});
  PolicyState state;
  InputBuilder a;
  a.now(1).vm("vm", 1000, 1000, 500).counters(5000, 100, 1);
  policy.decide(a.build(), state);
  InputBuilder b;
  b.now(2).vm("vm", 1000, 1000, 500).counters(10, 0, 2);
  EXPECT_EQ(policy.decide(b.build(), state).at(0).reason, "probe");
  EXPECT_EQ(state.vms["vm"].major_faults_per_s, 0);
}

// The average refault rate gates probing: a new policy given the memory of one that saw a burst
// keeps settling, as the first one does, where a fresh one would probe.
TEST(PressurePolicyTest, ForgetsTheAverageOfAVmThatLeftAndKeepsTheOthers) {
  PressurePolicy policy(PressurePolicy::Params{});
  PolicyState state;
  InputBuilder two;
  two.now(1).vm("a", 1000, 1000, 500).counters(0, 0, 1).vm("b", 1000, 1000, 500).counters(0, 0, 1);
  policy.decide(two.build(), state);
  EXPECT_EQ(policy.saveMemory().at("vms").size(), 2U);
  InputBuilder swapped;  // b left and c came in the same tick: as many VMs as before
  swapped.now(2).vm("a", 1000, 1000, 500).counters(0, 0, 2);
  swapped.vm("c", 1000, 1000, 500).counters(0, 0, 2);
  policy.decide(swapped.build(), state);
  const nlohmann::json vms = policy.saveMemory().at("vms");
  EXPECT_EQ(vms.size(), 2U);
  EXPECT_TRUE(vms.contains("a"));
  EXPECT_TRUE(vms.contains("c"));
}

TEST(PressurePolicyTest, MemoryRoundTripsIntoANewPolicy) {
  PressurePolicy first(PressurePolicy::Params{});
  PolicyState state;
  InputBuilder quiet;
  quiet.now(1).vm("vm", 1000, 1000, 500).counters(0, 0, 1);
  first.decide(quiet.build(), state);
  InputBuilder burst;
  burst.now(2).vm("vm", 1000, 1000, 500).counters(10000, 0, 2);  // 40 MiB/s for a second
  first.decide(burst.build(), state);
  const nlohmann::json memory = first.saveMemory();
  EXPECT_GT(memory.at("vms").at("vm").at("refault_avg_kib_s").get<double>(), 256);

  PressurePolicy second(PressurePolicy::Params{});
  ASSERT_TRUE(second.loadMemory(memory).ok());
  EXPECT_EQ(second.saveMemory(), memory);
  InputBuilder calm;
  calm.now(3).vm("vm", 1000, 1000, 500).counters(10000, 0, 3);
  PolicyState copy = state;
  EXPECT_EQ(second.decide(calm.build(), copy).at(0).reason, "settling");
  EXPECT_EQ(first.decide(calm.build(), state).at(0).reason, "settling");
  PressurePolicy fresh(PressurePolicy::Params{});
  PolicyState fresh_copy = copy;
  EXPECT_EQ(fresh.decide(calm.build(), fresh_copy).at(0).reason, "probe");
}

TEST(PressurePolicyTest, BadMemoryIsRefusedNamingThePath) {
  PressurePolicy policy(PressurePolicy::Params{});
  auto loaded = policy.loadMemory({{"vms", {{"web1", {{"refault_avg_kib_s", -3}}}}}});
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.error().message.rfind("memory.vms.web1.refault_avg_kib_s: expected a number", 0),
            0U)
      << loaded.error().message;
}

// Issue 16: a grow asked for because available ran low was taken back by the next probe, clamped
// by the grow hold-off to the actual size the guest had reached so far (620 -> 590 here), then
// given again: a push every tick or two on a ramping guest. The target in force now stays while
// the guest grows toward it.
TEST(PressurePolicyTest, AProbeDoesNotTakeBackAGrowInFlight) {
  PressurePolicy policy(PressurePolicy::Params{});
  TickedGuest guest(policy, testing::defaultConfigGuards(), 1000, 560, 30);  // 30 MiB/s balloon
  guest.tick(1, 520);  // 40 MiB available, under the 50 MiB cushion: back to 100 available
  ASSERT_EQ(guest.pushes().size(), 1U);
  EXPECT_EQ(guest.pushes()[0].reason, "available-low");
  EXPECT_EQ(guest.targetMib(), 620);
  guest.tick(2, 520);  // 590 of 620 reached, 70 available: a probe would ask for 578
  EXPECT_EQ(guest.targetMib(), 620);
  EXPECT_EQ(guest.pushes().size(), 1U);
  // A guest ramping 6 MiB/s for a minute: no push lowers a target the guest is still growing to.
  for (int t = 3; t <= 60; ++t) {
    guest.tick(t, 520 + 6 * (t - 2));
  }
  for (const auto& p : guest.pushes()) {
    if (p.actual_mib < p.from_mib - 1) {
      EXPECT_GE(p.to_mib, p.from_mib)
          << "at " << p.now_s << " s: " << p.from_mib << " -> " << p.to_mib << " " << p.reason
          << " at actual " << p.actual_mib;
    }
  }
}

// Issue 16: a guest probed down to its need-based floor (used + 64 MiB) while its use creeps up
// got a push of under a MiB every tick ("976->976 probe/grow-holdoff/floor"): a target in force
// just under the floor skipped the deadband. Every push now changes the target by at least
// guards.min_change_mib (8).
TEST(PressurePolicyTest, AFloorCreepingUpIsNotPushedUnderTheDeadband) {
  PressurePolicy policy(PressurePolicy::Params{});
  TickedGuest guest(policy, testing::defaultConfigGuards(), 1000, 600, 100);
  for (int t = 1; t <= 60; ++t) {
    guest.tick(t, 500 + 0.5 * t);  // use grows half a MiB a second
  }
  ASSERT_FALSE(guest.pushes().empty());
  for (const auto& p : guest.pushes()) {
    EXPECT_GE(std::abs(p.to_mib - p.from_mib), 8)
        << "at " << p.now_s << " s: " << p.from_mib << " -> " << p.to_mib << " " << p.reason;
  }
  EXPECT_LE(guest.pushes().size(), 10U);
}

TEST(PressurePolicyTest, IsRegistered) {
  auto values = Registry::instance().resolveParams("pressure", {});
  ASSERT_TRUE(values.ok());
  EXPECT_DOUBLE_EQ(values->at("target_kib_s"), 256);
  EXPECT_FALSE(Registry::instance().resolveParams("pressure", {{"probe_gain", 0.9}}).ok());
}

}  // namespace
}  // namespace balloond::policy
