// SPDX-License-Identifier: Apache-2.0
#include "policy/reclaim_plan.h"

#include <gtest/gtest.h>

#include "tests/policy/test_views.h"

namespace balloond::policy {
namespace {

using testing::InputBuilder;
using testing::mib;

Guards guards() {
  Guards g;
  g.need_margin_kib = mibToKib(64);
  return g;
}

TEST(ReclaimPlanTest, SpreadsInProportionToRoomAboveTheFloors) {
  InputBuilder b;
  // Room above floors: a 2048-512 = 1536, b 1024-512 = 512 (need floors are lower).
  b.vm("a", 2048, 2048, 1900, 512).vm("b", 2048, 1024, 900, 512);
  const ReclaimPlan plan = planReclaim(b.build().vms, guards(), mibToKib(1024));
  ASSERT_TRUE(plan.feasible);
  EXPECT_EQ(mib(plan.capacity_kib), 2048);
  ASSERT_EQ(plan.shares.size(), 2U);
  EXPECT_EQ(mib(plan.shares[0].kib), 768);
  EXPECT_EQ(mib(plan.shares[1].kib), 256);
}

TEST(ReclaimPlanTest, FloorsTooHighIsInfeasible) {
  InputBuilder b;
  b.vm("a", 2048, 1024, 900, 1000).vm("b", 2048, 1024, 900, 1000);
  const ReclaimPlan plan = planReclaim(b.build().vms, guards(), mibToKib(100));
  EXPECT_FALSE(plan.feasible);
  EXPECT_EQ(mib(plan.capacity_kib), 48);
  EXPECT_TRUE(plan.shares.empty());
}

TEST(ReclaimPlanTest, OnlyCooperativeVmsWithFreshStatsDonate) {
  InputBuilder b;
  b.vm("stale", 2048, 2048, 1900).stale().vm("excluded", 2048, 2048, 1900).excluded();
  b.vm("skipped", 2048, 2048, 1900).vm("ok", 2048, 2048, 1900);
  PolicyInput input = b.build();
  const ReclaimPlan plan = planReclaim(input.vms, guards(), mibToKib(500), {"skipped"});
  ASSERT_TRUE(plan.feasible);
  ASSERT_EQ(plan.shares.size(), 1U);
  EXPECT_EQ(plan.shares[0].vm, "ok");
  input.vms[3].ack = AckState::kStuck;
  EXPECT_FALSE(planReclaim(input.vms, guards(), mibToKib(500), {"skipped"}).feasible);
}

}  // namespace
}  // namespace balloond::policy
