// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "policy/policy_state.h"
#include "policy/vm_view.h"
#include "proto/result.h"
#include "proto/types.h"

namespace balloond::policy {

// Everything a policy may read for one decision. No clock reads: time is `now_s`.
struct PolicyInput {
  double now_s = 0;
  HostSample host;
  int64_t host_reserve_kib = 0;
  std::vector<VmView> vms;
};

// One VM's proposed target and why.
struct Decision {
  // The VM's name, in storage that outlives the decision: its sample's name (the snapshot lives
  // through the tick). No copy per VM per tick.
  std::string_view vm;
  int64_t target_kib = 0;
  // A short stable token, e.g. "available-above-margin", in storage that outlives the decision:
  // a literal, or a reason the guards composed (kept for the process's life). No allocation
  // per VM per tick.
  std::string_view reason;
  bool urgent = false;  // an operator's request: no inflate step limit, no grow hold-off
};

// Is `vm` (a decision's) the name `name`? Usually the very same characters: checked first.
inline bool sameVm(const std::string& name, std::string_view vm) {
  return (name.data() == vm.data() && name.size() == vm.size()) || name == vm;
}

// A named, documented numeric parameter that a policy accepts, with its valid range.
struct ParamInfo {
  std::string name;
  double default_value = 0;
  double min = 0;
  double max = 0;
  std::string help;
};

// Turns a snapshot into a target per VM. Pure: no I/O, deterministic for the same inputs and
// memory. The controller calls decide() once per tick; guards run on the result. A policy that
// remembers something of its own between ticks (MOM's sample windows) keeps it in its own type
// and hands it to everyone else as an opaque JSON value (policy/README.md, "Adding a policy").
class Policy {
 public:
  virtual ~Policy() = default;
  // One decision per VM in `input.vms` that the policy wants to change or keep.
  virtual std::vector<Decision> decide(const PolicyInput& input, PolicyState& state) = 0;
  // The policy's own memory as a JSON value only it reads; null when it keeps none.
  virtual nlohmann::json saveMemory() const { return nullptr; }
  // Takes back what saveMemory() gave (this run's or an earlier one's, maybe with other
  // parameters). On an error the memory is left as a new policy's.
  virtual Status loadMemory(const nlohmann::json& /*memory*/) { return Ok{}; }
};

// Parameter values after validation: every ParamInfo name has a value.
using ParamValues = std::map<std::string, double>;

}  // namespace balloond::policy
