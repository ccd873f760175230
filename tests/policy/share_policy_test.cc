// SPDX-License-Identifier: Apache-2.0
#include "policy/share_policy.h"

#include <gtest/gtest.h>

#include "policy/registry.h"
#include "tests/policy/test_views.h"

namespace balloond::policy {
namespace {

using testing::InputBuilder;
using testing::mib;

// One of the share policy's averages for VM "vm", as its memory holds it.
double active(const SharePolicy& policy, const char* which) {
  return policy.saveMemory().at("vms").at("vm").at(which).get<double>();
}

struct AllocationCase {
  const char* what;
  double tax_rate;
  double memory;
  std::vector<ShareClaim> claims;  // MiB
  std::vector<double> want;        // MiB
};

TEST(ShareAllocationTest, EqualisesSharesPerTaxedPage) {
  const AllocationCase cases[] = {
      {"plain shares split evenly", 0, 358, {{1000, 40, 0, 256}, {1000, 256, 0, 256}}, {179, 179}},
      // Idle VM: A = 40, P1 = 40 + (c - 40) / 4; active VM: P2 = c; P2 = 256 (capped) and
      // P1 = 358 - 256 = 102.
      {"idle memory taxed at 75%",
       0.75,
       358,
       {{1000, 40, 0, 256}, {1000, 256, 0, 256}},
       {102, 256}},
      {"shares 2:1, all active",
       0,
       300,
       {{2000, 1000, 0, 1000}, {1000, 1000, 0, 1000}},
       {200, 100}},
      {"a floor holds", 0, 300, {{1000, 1000, 200, 1000}, {1000, 1000, 0, 1000}}, {200, 100}},
      {"no contention: every VM at its ceiling",
       0.75,
       5000,
       {{1000, 10, 0, 1000}, {1000, 10, 0, 2000}},
       {1000, 2000}},
      {"not enough for the floors: every VM at its floor",
       0.75,
       100,
       {{1000, 10, 100, 1000}, {1000, 10, 50, 2000}},
       {100, 50}},
  };
  for (const auto& c : cases) {
    std::vector<ShareClaim> claims;
    for (auto x : c.claims) {
      claims.push_back({x.shares, x.active_kib * 1024, x.lo_kib * 1024, x.hi_kib * 1024});
    }
    const auto out = shareAllocation(claims, c.memory * 1024, c.tax_rate);
    ASSERT_EQ(out.size(), c.want.size()) << c.what;
    for (size_t i = 0; i < out.size(); ++i) {
      EXPECT_NEAR(out[i] / 1024, c.want[i], 0.5) << c.what << " vm " << i;
    }
  }
}

TEST(SharePolicyTest, TakesFromTheIdleVmAndGivesToTheActiveOne) {
  // 4000 MiB host, 200 available, 6% (240) kept free: 3760 MiB for two VMs of 2048. The busy
  // one reaches its max; the idle one (200 of 1900 active) gets the rest.
  SharePolicy policy(SharePolicy::Params{});
  PolicyState state;
  InputBuilder b;
  b.host(4000, 200).vm("idle", 2048, 1900, 1700).vm("busy", 2048, 1900, 0);
  auto out = policy.decide(b.build(), state);
  ASSERT_EQ(out.size(), 2U);
  EXPECT_LT(mib(out[0].target_kib), 1900);
  EXPECT_EQ(out[0].reason, "share-reclaim");
  EXPECT_EQ(mib(out[1].target_kib), 2048);
  EXPECT_EQ(out[1].reason, "share-grant");
  EXPECT_NEAR(mib(out[0].target_kib + out[1].target_kib), 1900 + 1900 + 200 - 240, 1);
}

TEST(SharePolicyTest, ForgetsTheFractionOfAVmThatLeft) {
  SharePolicy policy(SharePolicy::Params{});
  PolicyState state;
  InputBuilder two;
  two.host(4000, 200).vm("a", 2048, 1900, 1700).vm("b", 2048, 1900, 0);
  policy.decide(two.build(), state);
  InputBuilder one;
  one.host(4000, 200).vm("a", 2048, 1900, 1700);
  policy.decide(one.build(), state);
  const nlohmann::json vms = policy.saveMemory().at("vms");
  EXPECT_EQ(vms.size(), 1U);
  EXPECT_TRUE(vms.contains("a"));
}

TEST(SharePolicyTest, AStuckGuestKeepsWhatItHasAndOthersCoverIt) {
  SharePolicy policy(SharePolicy::Params{.tax_rate = 0, .host_free_target = 0});
  PolicyState state;
  InputBuilder b;
  // 3000 MiB for VMs: equal shares would be 1500 each, but "stuck" cannot go under 2000.
  b.host(3000, 0).vm("stuck", 2048, 2000, 1500).ack(AckState::kStuck).vm("ok", 2048, 1000, 900);
  auto out = policy.decide(b.build(), state);
  EXPECT_EQ(mib(out[0].target_kib), 2000);
  EXPECT_EQ(mib(out[1].target_kib), 1000);
}

TEST(SharePolicyTest, ActiveFractionFollowsActivityFastAndIdlenessSlowly) {
  SharePolicy policy(SharePolicy::Params{});
  PolicyState state;
  auto tick = [&](double available) {
    InputBuilder b;
    b.host(10000, 8000).vm("vm", 1000, 1000, available);
    policy.decide(b.build(), state);
    return std::max(active(policy, "active_fast"), active(policy, "active_slow"));
  };
  EXPECT_NEAR(tick(900), 0.1, 1e-9);  // the first estimate is taken as is
  EXPECT_NEAR(tick(0), 0.55, 1e-9);   // active at once (fast average, weight 0.5)
  EXPECT_NEAR(tick(900), 0.325, 1e-9);
  for (int i = 0; i < 60; ++i) {
    tick(0);
  }
  EXPECT_GT(tick(0), 0.95);
  for (int i = 0; i < 4; ++i) {
    tick(900);
  }
  // Idle for 5 ticks: the fast average is near 0.1, the slow one (weight 0.05) still near 0.8.
  EXPECT_GT(tick(900), 0.7);
  EXPECT_LT(active(policy, "active_fast"), 0.15);
}

TEST(SharePolicyTest, MemoryRoundTripsIntoANewPolicy) {
  SharePolicy first(SharePolicy::Params{});
  PolicyState state;
  for (double available : {900, 0, 900}) {
    InputBuilder b;
    b.host(10000, 8000).vm("vm", 1000, 1000, available);
    first.decide(b.build(), state);
  }
  const nlohmann::json memory = first.saveMemory();
  EXPECT_NEAR(memory.at("vms").at("vm").at("active_fast").get<double>(), 0.325, 1e-9);
  SharePolicy second(SharePolicy::Params{});
  ASSERT_TRUE(second.loadMemory(memory).ok());
  EXPECT_EQ(second.saveMemory(), memory);
  InputBuilder a;
  a.host(10000, 8000).vm("vm", 1000, 1000, 900);
  InputBuilder b;
  b.host(10000, 8000).vm("vm", 1000, 1000, 900);
  PolicyState copy = state;
  EXPECT_EQ(second.decide(b.build(), copy).at(0).target_kib,
            first.decide(a.build(), state).at(0).target_kib);
}

TEST(SharePolicyTest, BadMemoryIsRefusedNamingThePath) {
  SharePolicy policy(SharePolicy::Params{});
  auto loaded = policy.loadMemory({{"vms", {{"web1", {{"active_fast", "a"}}}}}});
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.error().message, "memory.vms.web1.active_fast: expected a number from -1 to 1");
  loaded = policy.loadMemory({{"vms", {{"web1", {{"active_slow", 1.5}}}}}});
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.error().message, "memory.vms.web1.active_slow: expected a number from -1 to 1");
  EXPECT_EQ(policy.saveMemory().at("vms"), nlohmann::json::object());
}

TEST(SharePolicyTest, SharesComeFromTheVmOverrides) {
  SharePolicy policy(SharePolicy::Params{.tax_rate = 0, .host_free_target = 0});
  PolicyState state;
  InputBuilder b;
  b.host(3000, 0).vm("gold", 3000, 1500, 0).shares(2000).vm("bronze", 3000, 1500, 0);
  auto out = policy.decide(b.build(), state);
  EXPECT_NEAR(mib(out[0].target_kib), 2000, 1);
  EXPECT_NEAR(mib(out[1].target_kib), 1000, 1);
}

TEST(SharePolicyTest, IsRegistered) {
  auto values = Registry::instance().resolveParams("share", {});
  ASSERT_TRUE(values.ok());
  EXPECT_DOUBLE_EQ(values->at("tax_rate"), 0.75);
  EXPECT_FALSE(Registry::instance().resolveParams("share", {{"tax_rate", 1}}).ok());
}

// Two guests at INT64_MAX and a host: the managed sums saturate (UBSan aborted here).
TEST(SharePolicyTest, HugeGuestNumbersDoNotOverflowTheSums) {
  SharePolicy policy(SharePolicy::Params{});
  PolicyState state;
  InputBuilder b;
  b.host(10000, 5000).vm("a", 1000, 1000, 0).huge().vm("b", 1000, 1000, 0).huge();
  auto out = policy.decide(b.build(), state);
  ASSERT_EQ(out.size(), 2U);
  for (const auto& d : out) {
    EXPECT_GE(d.target_kib, 0) << d.vm;
  }
}

}  // namespace
}  // namespace balloond::policy
