// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "proto/types.h"

namespace balloond::policy {

// What the policies and guards remember about one VM between ticks: one struct, defined in
// proto/ (VmHistory) so the daemon can dump it with the snapshot and `--evaluate` can read it
// back. Fields: last target, reason and grow/shrink times (guards), counter rates (every policy
// that reads pressure), the active-fraction averages (`share`) and MOM's sample windows (`mom`).
using VmPolicyState = VmHistory;

// Memory of all VMs plus host-wide history (MOM's host free window), owned by the controller and
// passed to each tick.
using PolicyState = PolicyHistory;

}  // namespace balloond::policy
