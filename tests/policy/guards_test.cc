// SPDX-License-Identifier: Apache-2.0
#include "policy/guards.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "tests/policy/test_views.h"

namespace balloond::policy {
namespace {

using testing::InputBuilder;
using testing::mib;

Guards defaultGuards() {
  return Guards{.inflate_step_kib = mibToKib(128),
                .deflate_step_kib = mibToKib(1024),
                .min_change_kib = mibToKib(8),
                .need_margin_kib = mibToKib(64),
                .grow_holdoff_s = 30,
                .host_reserve_kib = mibToKib(1024)};
}

Decision guardOne(InputBuilder& b, double proposed_mib, const PolicyState& state = {}) {
  const PolicyInput& input = b.build();
  auto out = applyGuards(input, {{input.vms[0].sample->name, mibToKib(proposed_mib), "p"}},
                         defaultGuards(), state);
  EXPECT_EQ(out.size(), 1U);
  return out.empty() ? Decision{} : out[0];
}

struct GuardCase {
  const char* what;
  double actual, available, floor, proposed;
  double want;
  const char* want_reason;
};

TEST(GuardsTest, ShapesOneVm) {
  // A 2048 MiB VM on a host with plenty of room.
  const GuardCase cases[] = {
      {"inside every bound", 2048, 1000, 256, 1990, 1990, "p"},
      {"shrinks at most one step", 2048, 1500, 256, 1024, 1920, "p/inflate-step"},
      {"grows at most one step", 512, 10, 256, 2048, 1536, "p/deflate-step"},
      {"never below the floor", 600, 550, 512, 490, 512, "p/floor"},
      {"never below what the guest uses", 1000, 100, 256, 880, 964, "p/floor"},
      {"never above the ceiling (max)", 2000, 10, 256, 2100, 2048, "p/ceiling"},
      {"a small change is not pushed", 2000, 1000, 256, 1995, 2000, "p"},
  };
  for (const auto& c : cases) {
    InputBuilder b;
    b.host(65536, 32768).vm("vm", 2048, c.actual, c.available, c.floor);
    const Decision d = guardOne(b, c.proposed);
    EXPECT_NEAR(mib(d.target_kib), c.want, 0.01) << c.what;
    EXPECT_EQ(d.reason, c.want_reason) << c.what;
  }
}

TEST(GuardsTest, NoShrinkingOnStaleStats) {
  InputBuilder b;
  b.host(65536, 32768).vm("vm", 2048, 2048, 1500).stale();
  const Decision d = guardOne(b, 1900);
  EXPECT_EQ(mib(d.target_kib), 2048);
  EXPECT_EQ(d.reason, "p/stale-stats");
}

TEST(GuardsTest, GrowingOnStaleStatsIsAllowed) {
  InputBuilder b;
  b.host(65536, 32768).vm("vm", 2048, 1024, 10).stale();
  EXPECT_EQ(mib(guardOne(b, 1500).target_kib), 1500);
}

TEST(GuardsTest, NoShrinkingRightAfterAGrow) {
  PolicyState state;
  state.vms["vm"].last_grow_s = 90;
  InputBuilder b;
  b.now(100).host(65536, 32768).vm("vm", 2048, 2048, 1500);
  const Decision held = guardOne(b, 1990, state);
  EXPECT_EQ(mib(held.target_kib), 2048);
  EXPECT_EQ(held.reason, "p/grow-holdoff");
  b.now(121);
  EXPECT_EQ(mib(guardOne(b, 1990, state).target_kib), 1990);
}

TEST(GuardsTest, GrowthComesOutOfTheHostReserveMostPressuredFirst) {
  // 1024 MiB reserve, 1536 available: 512 MiB to hand out. "tight" (5% available) comes first.
  InputBuilder b;
  b.host(8192, 1536)
      .vm("relaxed", 2048, 1024, 300)  // wants +400
      .vm("tight", 2048, 1024, 50);    // wants +400
  const PolicyInput& input = b.build();
  auto out = applyGuards(input, {{"relaxed", mibToKib(1424), "p"}, {"tight", mibToKib(1424), "p"}},
                         defaultGuards(), {});
  ASSERT_EQ(out.size(), 2U);
  EXPECT_EQ(out[0].vm, "relaxed");
  EXPECT_EQ(mib(out[0].target_kib), 1136);
  EXPECT_EQ(out[0].reason, "p/host-reserve");
  EXPECT_EQ(mib(out[1].target_kib), 1424);
  EXPECT_EQ(out[1].reason, "p");
}

// Many VMs, few distinct urgencies (ties): the budget goes to the most pressured first and, among
// equals, to the earlier in the input.
TEST(GuardsTest, TheHostReserveOrderHoldsForManyVmsWithTies) {
  constexpr int kVms = 300;
  InputBuilder b;
  b.host(1'000'000, 1024 + kVms / 2.0 * 16);  // budget: 16 MiB for half of them
  std::vector<Decision> proposed;
  std::vector<std::pair<double, int>> expected_order;  // (available, input position)
  for (int i = 0; i < kVms; ++i) {
    const double available = 100.0 * ((i * 7) % 5 + 1);  // 100, 300, 500, 200, 400, ...
    b.vm("vm" + std::to_string(i), 4096, 2048, available);
    expected_order.emplace_back(available, i);
  }
  const PolicyInput& input = b.build();
  for (const auto& vm : input.vms) {
    proposed.push_back({vm.sample->name, mibToKib(2048 + 16), "p"});
  }
  auto out = applyGuards(input, proposed, defaultGuards(), {});
  ASSERT_EQ(out.size(), static_cast<size_t>(kVms));
  std::sort(expected_order.begin(), expected_order.end());
  for (int k = 0; k < kVms; ++k) {
    const int i = expected_order[k].second;
    EXPECT_EQ(mib(out[i].target_kib), k < kVms / 2 ? 2048 + 16 : 2048)
        << "vm" << i << " rank " << k;
  }
}

TEST(GuardsTest, TheFloorWinsOverTheHostReserve) {
  InputBuilder b;
  b.host(8192, 0).vm("vm", 2048, 300, 10, 512);
  EXPECT_EQ(mib(guardOne(b, 600).target_kib), 512);
}

TEST(GuardsTest, ExcludedVmsGetNoDecision) {
  InputBuilder b;
  b.host(8192, 4096).vm("a", 2048, 2048, 1500).excluded().vm("b", 2048, 2048, 1500);
  const PolicyInput& input = b.build();
  auto out = applyGuards(input, {{"a", mibToKib(1000), "p"}, {"b", mibToKib(2000), "p"}},
                         defaultGuards(), {});
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(out[0].vm, "b");
}

TEST(GuardsTest, AVmWithoutADecisionKeepsItsTargetWithinBounds) {
  InputBuilder b;
  b.host(8192, 4096).vm("vm", 2048, 400, 10, 512, 400);
  const PolicyInput& input = b.build();
  auto out = applyGuards(input, {}, defaultGuards(), {});
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(mib(out[0].target_kib), 512);
  EXPECT_EQ(out[0].reason, "kept/floor");
}

}  // namespace
}  // namespace balloond::policy

namespace balloond::policy {
namespace {

TEST(GuardsTest, TheRelativeInflateStepLimitsSmallVms) {
  Guards g = defaultGuards();
  g.inflate_step_fraction = 0.05;  // 5% of 1000 = 50 < 128
  InputBuilder b;
  b.host(65536, 32768).vm("vm", 2048, 1000, 900);
  const PolicyInput& input = b.build();
  auto out = applyGuards(input, {{"vm", mibToKib(500), "p"}}, g, {});
  EXPECT_EQ(mib(out.at(0).target_kib), 950);
  EXPECT_EQ(out.at(0).reason, "p/inflate-step");
}

TEST(GuardsTest, AStuckOrUncooperativeGuestIsNotAskedForMore) {
  for (auto state : {AckState::kStuck, AckState::kUncooperative}) {
    InputBuilder b;
    b.host(65536, 32768).vm("vm", 2048, 1500, 900).ack(state);
    const Decision d = guardOne(b, 1400);
    EXPECT_EQ(mib(d.target_kib), 1500) << toString(state);
    EXPECT_EQ(d.reason, "p/not-following") << toString(state);
    EXPECT_EQ(mib(guardOne(b, 1700).target_kib), 1700) << "growing is fine";
  }
}

TEST(GuardsTest, UnderTheReserveReclaimsFasterLeastPressuredFirst) {
  Guards g = defaultGuards();
  g.emergency_step_factor = 4;  // 512 MiB steps
  // 824 MiB short of the 1024 reserve.
  InputBuilder b;
  b.host(8192, 200)
      .vm("busy", 2048, 2048, 50)
      .vm("idle", 2048, 2048, 1500)
      .vm("half", 2048, 2048, 1000);
  const PolicyInput& input = b.build();
  auto out = applyGuards(
      input,
      {{"busy", mibToKib(2048), "p"}, {"idle", mibToKib(2048), "p"}, {"half", mibToKib(2048), "p"}},
      g, {});
  ASSERT_EQ(out.size(), 3U);
  EXPECT_EQ(mib(out[0].target_kib), 2048);
  EXPECT_EQ(out[0].reason, "p");
  EXPECT_EQ(mib(out[1].target_kib), 2048 - 512);
  EXPECT_EQ(out[1].reason, "p/host-emergency");
  EXPECT_EQ(mib(out[2].target_kib), 2048 - 312);
  EXPECT_EQ(out[2].reason, "p/host-emergency");
}

TEST(GuardsTest, TheEmergencyCountsWhatTargetsAlreadyTakeBack) {
  Guards g = defaultGuards();
  g.emergency_step_factor = 4;
  InputBuilder b;  // 100 MiB short; "a" is already asked for 128
  b.host(8192, 924).vm("a", 2048, 2048, 1500).vm("b", 2048, 2048, 1500);
  const PolicyInput& input = b.build();
  auto out = applyGuards(input, {{"a", mibToKib(1920), "p"}, {"b", mibToKib(2048), "p"}}, g, {});
  EXPECT_EQ(mib(out[0].target_kib), 1920);
  EXPECT_EQ(mib(out[1].target_kib), 2048);
}

// The need-based floor of a guest reporting INT64_MAX used memory is its ceiling, not a wrapped
// sum (UBSan aborted here; a release build printed the overflowed floor as 256 MiB).
TEST(GuardsTest, NeedBasedFloorOfHugeNumbersSaturates) {
  InputBuilder b;
  b.vm("vm", 1000, 1000, 0, 256).huge(0);
  const PolicyInput& input = b.build();
  EXPECT_EQ(effectiveFloorKib(input.vms[0], defaultGuards()), std::numeric_limits<int64_t>::max());
  const PolicyState state;
  auto out = applyGuards(input, {{"vm", mibToKib(512), "p"}}, defaultGuards(), state);
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(out[0].target_kib, std::numeric_limits<int64_t>::max());
}

}  // namespace
}  // namespace balloond::policy
