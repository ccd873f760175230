// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "daemon/controller.h"

namespace balloond {

// What the scenario invariants look at after one tick.
struct InvariantInput {
  const Snapshot& snapshot;
  const std::vector<VmStatus>& vms;
  int64_t reserve_kib = 0;
  std::set<std::string> oom_killed;  // guests that have had an OOM kill so far
};

// How an invariant broke: a one-line detail and the VMs involved.
struct Violation {
  std::string detail;
  std::set<std::string> vms;
};

// Checks one named invariant (config::knownInvariants()); nullopt when it holds.
//   no_target_below_floor / no_target_above_ceiling: every managed VM's target is within its
//     configured floor and ceiling.
//   host_free_never_below_reserve: host available memory is at least the reserve.
//   free_before_allocate: targets never grow VMs (beyond what their guests need) by more than
//     the host has free above its reserve: memory is freed before it is handed out.
//   no_oom: no guest has OOM-killed its workload.
std::optional<Violation> checkInvariant(const std::string& name, const InvariantInput& in);

}  // namespace balloond
