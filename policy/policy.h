// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "policy/policy_state.h"
#include "policy/vm_view.h"
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
  std::string vm;
  int64_t target_kib = 0;
  std::string reason;   // a short stable token, e.g. "available-above-margin"
  bool urgent = false;  // an operator's request: no inflate step limit, no grow hold-off
};

// A named, documented numeric parameter that a policy accepts, with its valid range.
struct ParamInfo {
  std::string name;
  double default_value = 0;
  double min = 0;
  double max = 0;
  std::string help;
};

// Turns a snapshot into a target per VM. Pure: no I/O, deterministic for the same inputs.
// The controller calls decide() once per tick; guards run on the result.
class Policy {
 public:
  virtual ~Policy() = default;
  // One decision per VM in `input.vms` that the policy wants to change or keep.
  virtual std::vector<Decision> decide(const PolicyInput& input, PolicyState& state) = 0;
};

// Parameter values after validation: every ParamInfo name has a value.
using ParamValues = std::map<std::string, double>;

}  // namespace balloond::policy
