// SPDX-License-Identifier: Apache-2.0
#include "policy/mom_policy.h"

#include <gtest/gtest.h>

#include "policy/registry.h"
#include "tests/policy/test_views.h"

namespace balloond::policy {
namespace {

using testing::InputBuilder;
using testing::mib;

struct MomCase {
  const char* what;
  double host_free;  // MiB of 10000: MemFree + Buffers + Cached
  double max, cur, unused, floor;
  double want;  // MiB; the current target (= cur) when MOM sets none
  const char* want_reason;
};

// Targets worked out by hand from MOM's doc/balloon.rules with its default constants; one
// sample per window, so StatAvg is the sample itself.
TEST(MomPolicyTest, ReproducesMomDefaultRules) {
  const MomCase cases[] = {
      // host free 0.10: allowance 0.20 * 0.10 / 0.20 = 0.10; used 500 + 200 < 1900 = 95% of cur.
      {"pressure: shrink 5% of cur", 1000, 2000, 2000, 1500, 0, 1900, "mom-shrink"},
      // used 900 + 100 allowance = 1000 = cur: no change.
      {"pressure: already at used + allowance", 1000, 1000, 1000, 100, 0, 1000, "mom-hold"},
      // balloon_min 1950 wins over 95% of cur.
      {"pressure: not below balloon_min", 1000, 2000, 2000, 1500, 1950, 1950, "mom-shrink"},
      // host free 0.04: allowance 0.04 - 0.05 = -0.01: used 980 - 10 = 970, below what it uses.
      {"critical: allowance goes negative", 400, 1000, 1000, 20, 0, 970, "mom-shrink-critical"},
      {"critical: still at most 5% a step", 400, 1000, 1000, 500, 0, 950, "mom-shrink-critical"},
      // host free 0.5: grow by 5% of cur, or to used + 20% of cur, up to max.
      {"no pressure: grow 5%", 5000, 2000, 1000, 500, 0, 1050, "mom-grow"},
      {"no pressure: grow to used + 20%", 5000, 2000, 1000, 0, 0, 1200, "mom-grow"},
      {"no pressure: capped at max", 5000, 2000, 1980, 0, 0, 2000, "mom-grow"},
      {"no pressure: at max", 5000, 2000, 2000, 0, 0, 2000, "mom-at-max"},
      // 1994 - 1990 = 4 is under 0.25% of 1990 (4.975).
      {"no pressure: change too small", 5000, 1994, 1990, 1000, 0, 1990, "mom-hold"},
  };
  for (const auto& c : cases) {
    MomPolicy policy(MomPolicy::Params{.sample_window = 1});
    PolicyState state;
    InputBuilder b;
    b.host(10000, c.host_free).hostFree(c.host_free);
    b.vm("vm", c.max, c.cur, c.unused, c.floor).unused(c.unused);
    auto out = policy.decide(b.build(), state);
    ASSERT_EQ(out.size(), 1U) << c.what;
    EXPECT_NEAR(mib(out[0].target_kib), c.want, 0.01) << c.what;
    EXPECT_EQ(out[0].reason, c.want_reason) << c.what;
  }
}

TEST(MomPolicyTest, AveragesHostFreeOverTheSampleWindow) {
  MomPolicy policy(MomPolicy::Params{});  // 10 samples
  PolicyState state;
  auto decideAt = [&](double host_free_mib) {
    InputBuilder b;
    b.host(10000, host_free_mib).hostFree(host_free_mib).vm("vm", 2000, 1000, 500).unused(500);
    return policy.decide(b.build(), state).at(0).reason;
  };
  for (int i = 0; i < 9; ++i) {
    EXPECT_EQ(decideAt(5000), "mom-grow");
  }
  // One dip to 1% averages to (9 * 0.5 + 0.01) / 10 = 0.451: no pressure yet.
  EXPECT_EQ(decideAt(100), "mom-grow");
  const auto host_free = [&] { return policy.saveMemory().at("host_free_history"); };
  EXPECT_EQ(host_free().size(), 10U);
  // Sustained: after 7 more dips the average is (2 * 0.5 + 8 * 0.01) / 10 = 0.108.
  std::string reason;
  for (int i = 0; i < 7; ++i) {
    reason = decideAt(100);
  }
  EXPECT_EQ(reason, "mom-shrink");
  EXPECT_NEAR(host_free().front().get<double>(), 0.5, 1e-9);
}

TEST(MomPolicyTest, UsesAvailableWhenTheHostDoesNotReportFree) {
  MomPolicy policy(MomPolicy::Params{.sample_window = 1});
  PolicyState state;
  InputBuilder b;
  b.host(10000, 1000).vm("vm", 2000, 2000, 1500).unused(1500);
  EXPECT_EQ(policy.decide(b.build(), state).at(0).reason, "mom-shrink");
}

TEST(MomPolicyTest, WithoutMemUnusedMakesNoDecision) {
  MomPolicy policy(MomPolicy::Params{});
  PolicyState state;
  InputBuilder b;
  b.host(10000, 1000).vm("vm", 2000, 2000, 1500, 0, 1800);
  auto out = policy.decide(b.build(), state);
  EXPECT_EQ(mib(out.at(0).target_kib), 1800);
  EXPECT_EQ(out.at(0).reason, "mom-no-stats");
}

// The memory (host free and each VM's windows) survives a round trip into a new policy, which
// then decides as the first one would have.
TEST(MomPolicyTest, MemoryRoundTripsIntoANewPolicy) {
  const auto input = [](double host_free_mib, double unused_mib) {
    InputBuilder b;
    b.host(10000, host_free_mib).hostFree(host_free_mib);
    b.vm("vm", 2000, 1000, 500).unused(unused_mib);
    return b;
  };
  MomPolicy first(MomPolicy::Params{});
  PolicyState state;
  for (int i = 0; i < 6; ++i) {
    auto b = input(i < 3 ? 5000 : 100, 100 * i);
    first.decide(b.build(), state);
  }
  const nlohmann::json memory = first.saveMemory();
  EXPECT_EQ(memory.at("host_free_history").size(), 6U);
  EXPECT_EQ(memory.at("vms").at("vm").at("unused_window_kib").back(), mibToKib(500));

  MomPolicy second(MomPolicy::Params{});
  ASSERT_TRUE(second.loadMemory(memory).ok());
  EXPECT_EQ(second.saveMemory(), memory);
  auto a = input(100, 600);
  auto b = input(100, 600);
  PolicyState copy = state;
  const auto want = first.decide(a.build(), state).at(0);
  const auto got = second.decide(b.build(), copy).at(0);
  EXPECT_EQ(got.target_kib, want.target_kib);
  EXPECT_EQ(got.reason, want.reason);
}

TEST(MomPolicyTest, MemoryWindowsLongerThanTheSampleHistoryKeepTheNewest) {
  MomPolicy policy(MomPolicy::Params{.sample_window = 2});
  ASSERT_TRUE(policy
                  .loadMemory({{"host_free_history", {0.1, 0.2, 0.3}},
                               {"vms", {{"vm", {{"actual_window_kib", {1, 2, 3}}}}}}})
                  .ok());
  const nlohmann::json memory = policy.saveMemory();
  EXPECT_EQ(memory.at("host_free_history"), nlohmann::json({0.2, 0.3}));
  EXPECT_EQ(memory.at("vms").at("vm").at("actual_window_kib"), nlohmann::json({2, 3}));
}

TEST(MomPolicyTest, BadMemoryIsRefusedNamingThePathAndLeavesItFresh) {
  struct Case {
    const char* what;
    nlohmann::json memory;
    const char* error;
  };
  const Case cases[] = {
      {"window of strings",
       {{"vms", {{"web1", {{"actual_window_kib", {"a"}}}}}}},
       "memory.vms.web1.actual_window_kib: expected an array of sizes in KiB"},
      {"negative size",
       {{"vms", {{"web1", {{"unused_window_kib", {-1}}}}}}},
       "memory.vms.web1.unused_window_kib: expected an array of sizes in KiB"},
      {"host free above 1",
       {{"host_free_history", {0.5, 2}}},
       "memory.host_free_history: expected an array of fractions"},
      {"vms not an object", {{"vms", 1}}, "memory.vms: expected an object"},
      {"not an object", nlohmann::json::array(), "memory: expected an object"},
  };
  for (const auto& c : cases) {
    MomPolicy policy(MomPolicy::Params{});
    ASSERT_TRUE(policy.loadMemory({{"host_free_history", {0.5}}}).ok());
    auto loaded = policy.loadMemory(c.memory);
    ASSERT_FALSE(loaded.ok()) << c.what;
    EXPECT_EQ(loaded.error().message, c.error) << c.what;
    EXPECT_TRUE(policy.saveMemory().at("host_free_history").empty()) << c.what;
  }
}

TEST(MomPolicyTest, ForgetsTheWindowsOfAVmThatLeft) {
  MomPolicy policy(MomPolicy::Params{});
  PolicyState state;
  InputBuilder two;
  two.host(10000, 5000).hostFree(5000).vm("a", 2000, 1000, 500).unused(500);
  two.vm("b", 2000, 1000, 500).unused(500);
  policy.decide(two.build(), state);
  InputBuilder one;
  one.host(10000, 5000).hostFree(5000).vm("a", 2000, 1000, 500).unused(500);
  policy.decide(one.build(), state);
  const nlohmann::json vms = policy.saveMemory().at("vms");
  EXPECT_EQ(vms.size(), 1U);
  EXPECT_EQ(vms.at("a").at("actual_window_kib").size(), 2U);
}

TEST(MomPolicyTest, IsRegisteredWithMomsNames) {
  auto values = Registry::instance().resolveParams("mom", {});
  ASSERT_TRUE(values.ok());
  EXPECT_DOUBLE_EQ(values->at("pressure_threshold"), 0.20);
  EXPECT_DOUBLE_EQ(values->at("pressure_critical"), 0.05);
  EXPECT_DOUBLE_EQ(values->at("min_guest_free_percent"), 0.20);
  EXPECT_DOUBLE_EQ(values->at("max_balloon_change_percent"), 0.05);
  EXPECT_DOUBLE_EQ(values->at("min_balloon_change_percent"), 0.0025);
  EXPECT_DOUBLE_EQ(values->at("sample_history_length"), 10);
  EXPECT_FALSE(Registry::instance().resolveParams("mom", {{"pressure_threshold", 1.5}}).ok());
}

// Windows of INT64_MAX-sized samples: their average is not a wrapped sum (UBSan aborted in
// std::accumulate here).
TEST(MomPolicyTest, HugeGuestNumbersInTheWindowsDoNotOverflow) {
  MomPolicy policy(MomPolicy::Params{});
  PolicyState state;
  for (int i = 0; i < 3; ++i) {
    InputBuilder b;
    b.host(10000, 1000).hostFree(1000).vm("vm", 1000, 1000, 0).huge();
    auto out = policy.decide(b.build(), state);
    ASSERT_EQ(out.size(), 1U);
    EXPECT_GE(out[0].target_kib, 0);
  }
}

}  // namespace
}  // namespace balloond::policy
