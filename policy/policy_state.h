// SPDX-License-Identifier: Apache-2.0
#pragma once

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

}  // namespace balloond::policy
