// SPDX-License-Identifier: Apache-2.0
#include "daemon/evaluate.h"

#include <gtest/gtest.h>

#include <limits>

namespace balloond {
namespace {

StateDump twoVms() {
  StateDump d;
  d.snapshot.time_s = 100;
  d.snapshot.host = {.total_kib = mibToKib(16384),
                     .available_kib = mibToKib(8192),
                     .free_kib = {},
                     .psi_some_avg10 = {}};
  for (const char* name : {"idle", "stuck", "skip"}) {
    VmSample vm;
    vm.name = name;
    vm.max_kib = mibToKib(2048);
    vm.actual_kib = mibToKib(2048);
    vm.guest.available_kib = mibToKib(1800);
    vm.guest.last_update_s = 99.5;
    d.snapshot.vms.push_back(vm);
  }
  d.control["stuck"] = {.target_kib = mibToKib(2048), .state = "stuck"};
  return d;
}

config::Config marginConfig() {
  config::Config c;
  c.policy.params["peak_window_s"] = 0;  // the rule alone: the dump holds no margin memory
  c.vms = {{.match = "skip", .floor_mib = {}, .ceiling_mib = {}, .excluded = true, .shares = {}}};
  return c;
}

TEST(EvaluateTest, OneDecisionPerVmWithItsReason) {
  auto out = evaluateDump(twoVms(), marginConfig());
  ASSERT_TRUE(out.ok()) << out.error().message;
  const auto& d = (*out)["decisions"];
  ASSERT_EQ(d.size(), 3U);
  EXPECT_EQ((*out)["policy"], "margin");
  EXPECT_EQ(d[0]["vm"], "idle");
  EXPECT_EQ(d[0]["target_kib"], mibToKib(2048 - 128));
  EXPECT_EQ(d[0]["reason"], "available-above-margin/inflate-step");
  EXPECT_EQ(d[0]["changed"], true);
  EXPECT_EQ(d[1]["state"], "stuck");
  EXPECT_EQ(d[1]["target_kib"], mibToKib(2048));
  EXPECT_EQ(d[1]["reason"], "available-above-margin/not-following");
  EXPECT_EQ(d[2]["reason"], "excluded");
  EXPECT_EQ(d[2]["changed"], false);
}

TEST(EvaluateTest, StaleStatsAreDerivedWhenTheDumpHasNoState) {
  StateDump dump = twoVms();
  dump.snapshot.vms[0].guest.last_update_s = 10;
  auto out = evaluateDump(dump, marginConfig());
  ASSERT_TRUE(out.ok());
  EXPECT_EQ((*out)["decisions"][0]["state"], "stale");
  EXPECT_EQ((*out)["decisions"][0]["target_kib"], mibToKib(2048));
}

TEST(EvaluateTest, UnknownStatesAndPoliciesAreErrors) {
  StateDump dump = twoVms();
  dump.control["idle"].state = "sleepy";
  auto out = evaluateDump(dump, marginConfig());
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().message, "snapshot: vm 'idle': unknown state 'sleepy'");
  config::Config c = marginConfig();
  c.policy.name = "nope";
  EXPECT_FALSE(evaluateDump(twoVms(), c).ok());
}

// Pressure's average refault rate gates probing: with a dumped average above the target the
// guest is settling, without it the guest would be probed.
TEST(EvaluateTest, ThePolicysMemoryGoesBackToThePolicyThatWroteIt) {
  config::Config c = marginConfig();
  c.policy = {.name = "pressure", .params = {}};
  StateDump dump = twoVms();
  EXPECT_EQ(evaluateDump(dump, c)->at("decisions")[0]["reason"], "probe");
  dump.policy_memory = {.policy = "pressure",
                        .memory = {{"vms", {{"idle", {{"refault_avg_kib_s", 1000}}}}}}};
  EXPECT_EQ(evaluateDump(dump, c)->at("decisions")[0]["reason"], "settling");

  dump.policy_memory.policy = "share";  // another policy's memory is ignored
  EXPECT_EQ(evaluateDump(dump, c)->at("decisions")[0]["reason"], "probe");

  dump.policy_memory = {.policy = "pressure",
                        .memory = {{"vms", {{"idle", {{"refault_avg_kib_s", "high"}}}}}}};
  auto out = evaluateDump(dump, c);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().message.rfind(
                "snapshot.policy_memory.memory.vms.idle.refault_avg_kib_s: expected a number", 0),
            0U)
      << out.error().message;
}

// The dump's samples pass the same check as the controller's: an inconsistent guest is stale,
// says why, and is not shrunk (it was shrunk by a full inflate step before).
TEST(EvaluateTest, InconsistentStatsInTheDumpAreNotShrunkOn) {
  struct Case {
    const char* what;
    void (*edit)(VmSample&);
    const char* reason;
  };
  const Case cases[] = {
      {"available above total", [](VmSample& v) { v.guest.total_kib = mibToKib(1000); },
       "inconsistent stats: available > total"},
      {"available above actual", [](VmSample& v) { v.actual_kib = mibToKib(1024); },
       "inconsistent stats: available > actual"},
      {"available at INT64_MAX",
       [](VmSample& v) { v.guest.available_kib = std::numeric_limits<int64_t>::max(); },
       "inconsistent stats: available > actual"},
      {"last update 1e300", [](VmSample& v) { v.guest.last_update_s = 1e300; },
       "inconsistent stats: last update in the future"},
  };
  for (const auto& c : cases) {
    StateDump dump = twoVms();
    c.edit(dump.snapshot.vms[0]);
    auto out = evaluateDump(dump, marginConfig());
    ASSERT_TRUE(out.ok()) << c.what;
    const auto& d = (*out)["decisions"][0];
    EXPECT_EQ(d["state"], "stale") << c.what;
    EXPECT_EQ(d.value("state_reason", ""), c.reason) << c.what;
    EXPECT_EQ(d["target_kib"], d["current_target_kib"]) << c.what;
    EXPECT_EQ(d["changed"], false) << c.what;
  }
}

}  // namespace
}  // namespace balloond
