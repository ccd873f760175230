// SPDX-License-Identifier: Apache-2.0
#include "daemon/sim/scenario_runner.h"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

namespace balloond {
namespace {

config::ScenarioSpec parse(const std::string& yaml) {
  auto sc = config::parseScenario(yaml, "t.yaml");
  EXPECT_TRUE(sc.ok()) << sc.error().message;
  return *sc;
}

const std::string kStuckDonor = R"(name: stuck donor
clock: {tick_s: 1, max_s: 30}
host: {total_mib: 8192, reserve_mib: 512}
policy: {name: static}
vms:
  - {name: donor, max_mib: 2048, workload: {phases: [{kind: constant, mib: 200}]}, driver: {model: stuck}}
  - {name: worker, max_mib: 2048, workload: {phases: [{kind: constant, mib: 200}]}}
events:
  - {at_s: 2, reclaim_mib: 1000}
)";

class ScenarioRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override { spdlog::set_level(spdlog::level::off); }
};

TEST_F(ScenarioRunnerTest, PassesWhenEveryExpectationHolds) {
  auto r = runScenario(parse(kStuckDonor + R"(expect:
  outcome: {reclaim: success, within_s: 10, refused: [donor]}
  invariants: [no_oom]
)"));
  EXPECT_TRUE(r.passed) << r.report;
  EXPECT_EQ(r.report, "PASS stuck donor\n");
}

TEST_F(ScenarioRunnerTest, SaysWhichExpectationBrokeWhenAndShowsTheTimeline) {
  auto r = runScenario(parse(kStuckDonor + R"(expect:
  vms:
    - {vm: donor, never: stuck}
)"));
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.broken, "vms[0]");
  EXPECT_NE(r.report.find("FAIL stuck donor: expectation vms[0] broke at t=8s: donor became stuck"),
            std::string::npos)
      << r.report;
  EXPECT_NE(r.report.find("timeline"), std::string::npos);
  EXPECT_NE(r.report.find("t=8     donor"), std::string::npos) << r.report;
  EXPECT_EQ(r.report.find("worker"), std::string::npos) << "only the VMs involved";
}

TEST_F(ScenarioRunnerTest, ANegativeScenarioFailsWhenNothingBreaks) {
  auto r = runScenario(parse(kStuckDonor + R"(expect:
  invariants: [no_oom]
must_break: no_oom
)"));
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.report,
            "FAIL stuck donor (negative): no_oom must break, but every expectation held\n");
}

TEST_F(ScenarioRunnerTest, ARefusedListThatDoesNotMatchBreaksTheOutcome) {
  auto r = runScenario(parse(kStuckDonor + R"(expect:
  outcome: {reclaim: success, refused: [worker]}
)"));
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.broken, "outcome");
  EXPECT_NE(r.report.find("reclaim named [donor] as refusing"), std::string::npos) << r.report;
}

}  // namespace
}  // namespace balloond
