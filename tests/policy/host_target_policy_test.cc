// SPDX-License-Identifier: Apache-2.0
#include "policy/host_target_policy.h"

#include <gtest/gtest.h>

#include "policy/registry.h"
#include "tests/policy/test_views.h"

namespace balloond::policy {
namespace {

using testing::InputBuilder;
using testing::mib;

std::vector<Decision> decide(InputBuilder& b, HostTargetPolicy::Params p = {}) {
  HostTargetPolicy policy(p);
  PolicyState state;
  return policy.decide(b.build(), state);
}

TEST(HostTargetPolicyTest, AboveTheSetPointTakesBackAStepFromEachVm) {
  // 10000 MiB host, 9000 used: 1000 over the 80% set point; each VM has 1500 above its floor.
  InputBuilder b;
  b.host(10000, 1000).vm("a", 2048, 2000, 800, 500).vm("b", 2048, 2000, 800, 500);
  auto out = decide(b);
  for (const auto& d : out) {
    EXPECT_EQ(mib(d.target_kib), 2000 - 128) << d.vm;
    EXPECT_EQ(d.reason, "host-above-set-point") << d.vm;
  }
}

TEST(HostTargetPolicyTest, TakesMoreFromVmsWithMoreRoomPerShare) {
  InputBuilder b;
  b.host(10000, 1300).vm("big", 4096, 2500, 800, 500).vm("small", 4096, 1000, 800, 500);
  // 700 over the set point; room above the floor 2000 and 500: taken 560 and 140.
  auto out = decide(b, {.step_mib = 10000});
  EXPECT_NEAR(mib(out[0].target_kib), 2500 - 560, 0.01);
  EXPECT_NEAR(mib(out[1].target_kib), 1000 - 140, 0.01);
}

TEST(HostTargetPolicyTest, NeverShrinksAPressuredVmAndGrowsItFirst) {
  InputBuilder b;
  b.host(10000, 1000).vm("tight", 2048, 1000, 10, 256).vm("loose", 2048, 2000, 800, 256);
  auto out = decide(b);
  EXPECT_EQ(mib(out[0].target_kib), 1128);
  EXPECT_EQ(out[0].reason, "pressured-first");
  // The excess grew by tight's step: loose gives all of its step.
  EXPECT_EQ(mib(out[1].target_kib), 2000 - 128);
}

TEST(HostTargetPolicyTest, BelowTheSetPointHandsOutRoomByShares) {
  // 7600 used: 400 under the set point, beyond the 200 band. Shares 3:1.
  InputBuilder b;
  b.host(10000, 2400).vm("gold", 4096, 1000, 500).shares(3000).vm("bronze", 4096, 1000, 500);
  auto out = decide(b, {.step_mib = 10000});
  EXPECT_NEAR(mib(out[0].target_kib), 1300, 0.01);
  EXPECT_NEAR(mib(out[1].target_kib), 1100, 0.01);
  EXPECT_EQ(out[1].reason, "host-below-set-point");
}

TEST(HostTargetPolicyTest, InsideTheBandNothingMoves) {
  InputBuilder b;
  b.host(10000, 2100).vm("vm", 4096, 1000, 500, 0, 990);
  auto out = decide(b);
  EXPECT_EQ(mib(out[0].target_kib), 990);
  EXPECT_EQ(out[0].reason, "host-at-set-point");
}

TEST(HostTargetPolicyTest, AStuckVmIsNotCountedOn) {
  InputBuilder b;
  b.host(10000, 1300)
      .vm("stuck", 4096, 2500, 800, 500)
      .ack(AckState::kStuck)
      .vm("ok", 4096, 1000, 800, 500);
  auto out = decide(b, {.step_mib = 10000});
  EXPECT_EQ(mib(out[0].target_kib), 2500);
  EXPECT_EQ(out[0].reason, "not-following");
  // "ok" covers the 700 alone, down to its floor.
  EXPECT_NEAR(mib(out[1].target_kib), 500, 0.01);
}

TEST(HostTargetPolicyTest, IsRegistered) {
  auto values = Registry::instance().resolveParams("host-target", {});
  ASSERT_TRUE(values.ok());
  EXPECT_DOUBLE_EQ(values->at("set_point"), 0.8);
}

}  // namespace
}  // namespace balloond::policy
