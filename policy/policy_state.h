// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "policy/vm_view.h"
#include "proto/types.h"

namespace balloond::policy {

// What every policy and the guards remember about one VM between ticks: one struct, defined in
// proto/ (VmHistory) so the daemon can dump it with the snapshot and `--evaluate` can read it
// back. Fields: last target, reason and grow/shrink times (guards) and the guest's counter rates
// (signals.h, for every policy that reads pressure). What one policy alone remembers is in that
// policy's own type (Policy::saveMemory), not here.
using VmPolicyState = VmHistory;

// Memory of all VMs, owned by the controller and passed to each tick.
using PolicyState = PolicyHistory;

// A VM's memory: the entry its view points at, or the one under its name (made if new).
inline VmPolicyState& historyOf(const VmView& vm, PolicyState& state) {
  return vm.history != nullptr ? *vm.history : state.vms[vm.sample->name];
}

// A VM's memory if it has any yet, without making one.
inline const VmPolicyState* findHistory(const VmView& vm, const PolicyState& state) {
  if (vm.history != nullptr) {
    return vm.history;
  }
  auto it = state.vms.find(vm.sample->name);
  return it == state.vms.end() ? nullptr : &it->second;
}

}  // namespace balloond::policy
