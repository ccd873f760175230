// SPDX-License-Identifier: Apache-2.0
#include "config/scenario.h"

#include <gtest/gtest.h>

namespace balloond::config {
namespace {

const std::string kHead = R"(name: t
clock: {tick_s: 1, max_s: 30}
host: {total_mib: 8192, reserve_mib: 512}
policy: {name: margin}
vms:
  - {name: a, max_mib: 2048, floor_mib: 512, driver: {model: stuck, from_s: 3}}
)";

std::string errorOf(const std::string& yaml) {
  auto r = parseScenario(yaml, "s.yaml");
  return r.ok() ? "ok" : r.error().message;
}

TEST(ScenarioTest, ParsesHostVmsEventsAndExpectations) {
  auto sc = parseScenario(kHead + R"(events:
  - {at_s: 5, reclaim_mib: 100}
  - {at_s: 6, vm: a, workload: {phases: [{kind: constant, mib: 10}]}}
  - {at_s: 9, stop: a}
expect:
  outcome: {reclaim: refused, within_s: 20, refused: [a]}
  vms:
    - {vm: a, at_s: 8, state: stuck, reason_contains: retract}
    - {vm: a, from_s: 10, to_s: 20, pushes_at_most: 2, never: uncooperative}
  invariants: [no_oom, free_before_allocate]
)",
                          "s.yaml");
  ASSERT_TRUE(sc.ok()) << sc.error().message;
  EXPECT_EQ(sc->name, "t");
  EXPECT_DOUBLE_EQ(sc->max_s, 30);
  EXPECT_DOUBLE_EQ(sc->config.guards.host_reserve_mib, 512);
  ASSERT_EQ(sc->config.vms.size(), 1U);
  EXPECT_EQ(sc->config.vms[0].match, "a");
  EXPECT_EQ(sc->config.vms[0].floor_mib, 512);
  EXPECT_EQ(sc->config.channel.sim.vms[0].driver.model, "stuck");
  ASSERT_EQ(sc->events.size(), 3U);
  EXPECT_EQ(sc->events[0].kind, ScenarioEvent::Kind::kReclaim);
  EXPECT_EQ(sc->events[1].kind, ScenarioEvent::Kind::kWorkload);
  EXPECT_EQ(sc->events[2].kind, ScenarioEvent::Kind::kStop);
  ASSERT_TRUE(sc->outcome.has_value());
  EXPECT_EQ(sc->outcome->refused, std::vector<std::string>{"a"});
  ASSERT_EQ(sc->vm_expectations.size(), 2U);
  EXPECT_EQ(sc->vm_expectations[1].pushes_at_most, 2);
  EXPECT_EQ(sc->invariants, (std::vector<std::string>{"no_oom", "free_before_allocate"}));
}

TEST(ScenarioTest, ErrorsNameThePlaceAndTheProblem) {
  struct Case {
    std::string yaml;
    std::string error;
  };
  const Case cases[] = {
      {kHead + "events:\n  - {at_s: 5, stop: b}\n",
       "s.yaml:8:21: events[0].stop: no VM named 'b' in vms"},
      {kHead + "events:\n  - {at_s: 5}\n",
       "s.yaml:8:5: events[0]: needs exactly one of reclaim_mib, workload, start or stop"},
      {kHead + "events:\n  - {at_s: 5, stop: a, start: a}\n",
       "s.yaml:8:5: events[0]: needs exactly one of reclaim_mib, workload, start or stop"},
      {kHead + "expect:\n  invariants: [no_ooms]\n",
       "s.yaml:8:16: expect.invariants[0]: unknown invariant 'no_ooms' (known: "
       "no_target_below_floor, no_target_above_ceiling, host_free_never_below_reserve, "
       "free_before_allocate, no_oom)"},
      {kHead + "expect:\n  vms:\n    - {vm: a, state: sleepy}\n",
       "s.yaml:9:22: expect.vms[0].state: unknown state 'sleepy' (known: settled, converging, "
       "stuck, uncooperative, no-driver, stale, excluded)"},
      {kHead + "expect:\n  outcome: {reclaim: maybe}\n",
       "s.yaml:8:22: expect.outcome.reclaim: unknown outcome 'maybe' (known: success, "
       "cannot-free, refused)"},
      {kHead + "must_break: no_oom\n",
       "s.yaml:7:13: must_break: names no expectation of this scenario (an invariant it lists, "
       "'outcome', or 'vms[N]')"},
      {kHead + "expect:\n  vms:\n    - {vm: a, at_s: 3, to_s: 9}\n",
       "s.yaml:9:7: expect.vms[0]: give either at_s or a from_s/to_s window, not both"},
      {"name: t\nclock: {max_s: 0}\n",
       "s.yaml:2:16: clock.max_s: must be above 0 and at most "
       "31536000, got 0"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(errorOf(c.yaml), c.error) << c.yaml;
  }
}

TEST(ScenarioTest, EveryShippedScenarioParses) {
  for (const char* f : {"01_hidden_floor_and_brief_stalls", "04_stuck_donor_beside_a_worker",
                        "negative/n1_spike_oom"}) {
    auto sc = loadScenarioFile(std::string(BALLOOND_SOURCE_DIR "/tests/scenarios/") + f + ".yaml");
    EXPECT_TRUE(sc.ok()) << f << ": " << sc.error().message;
  }
}

}  // namespace
}  // namespace balloond::config
