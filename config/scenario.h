// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/spec.h"
#include "proto/result.h"

namespace balloond::config {

// Something that happens to the simulated host at a given time in a scenario.
struct ScenarioEvent {
  enum class Kind { kReclaim, kWorkload, kStart, kStop };
  double at_s = 0;
  Kind kind = Kind::kReclaim;
  std::string vm;          // workload, start, stop
  double reclaim_mib = 0;  // reclaim
  WorkloadSpec workload;   // workload: replaces the VM's, phases start over

  friend bool operator==(const ScenarioEvent&, const ScenarioEvent&) = default;
};

// What an admin reclaim in the scenario must end in.
struct OutcomeExpectation {
  std::string outcome;                              // success | cannot-free | refused
  double within_s = 0;                              // after the reclaim event; 0 = by the end
  std::optional<std::vector<std::string>> refused;  // exactly these VMs named, if given

  friend bool operator==(const OutcomeExpectation&, const OutcomeExpectation&) = default;
};

// A check on one VM, at one time (`at_s`) or over a window (`from_s`..`to_s`, default the run).
struct VmExpectation {
  std::string vm;
  std::optional<double> at_s;
  double from_s = 0;
  std::optional<double> to_s;
  std::optional<std::string> state;  // is in this state (at at_s, or all through the window)
  std::optional<std::string> never;  // never in this state
  std::optional<std::string> ever;   // in this state at least once
  std::optional<std::string> reason_contains;  // its reason or state reason says this
  std::optional<double> target_min_mib, target_max_mib, actual_min_mib, actual_max_mib;
  std::optional<int> pushes_at_most;  // targets pushed to it within the window

  friend bool operator==(const VmExpectation&, const VmExpectation&) = default;
};

// A scenario: a simulated host, events, and what must hold. See tests/scenarios/README.md.
struct ScenarioSpec {
  std::string source;
  std::string name;
  double tick_s = 1;
  double max_s = 60;
  Config config;  // the simulated host, VMs, policy, guards, acks and per-VM limits
  std::vector<ScenarioEvent> events;
  std::optional<OutcomeExpectation> outcome;
  std::vector<VmExpectation> vm_expectations;
  std::vector<std::string> invariants;
  std::optional<std::string> must_break;  // a negative scenario: this expectation must break

  friend bool operator==(const ScenarioSpec&, const ScenarioSpec&) = default;
};

// The invariants a scenario may name.
const std::vector<std::string>& knownInvariants();

Result<ScenarioSpec> parseScenario(const std::string& text, const std::string& source);
Result<ScenarioSpec> loadScenarioFile(const std::string& path);

}  // namespace balloond::config
