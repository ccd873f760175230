// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>

#include "config/scenario.h"

namespace balloond {

// How a scenario run ended.
struct ScenarioResult {
  bool passed = false;
  std::string broken;  // the first expectation that broke ("" if none): an invariant name,
                       // "outcome" or "vms[N]"
  std::string report;  // what to print: a verdict line, and on a break the detail and timeline
};

// Plays a scenario against the real controller on the simulated host with the virtual clock,
// checking invariants and per-VM expectations after every tick and the reclaim outcome when it
// ends. Stops at the first broken expectation. A negative scenario (`must_break`) passes only
// when exactly that expectation breaks.
ScenarioResult runScenario(const config::ScenarioSpec& spec);

}  // namespace balloond
