// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>

#include "policy/vm_view.h"
#include "proto/control.h"

namespace balloond {

// Applies an operator's runtime override (vm-set) on top of the limits the config gave a VM.
// A pin becomes floor = ceiling = pin; the guards then put the target there (the ceiling guard
// comes last, so a pin below the VM's size takes effect at the next tick).
// Everything stays within 0..max_kib and floor <= ceiling. Called by the controller every tick.
policy::VmLimits applyRuntimeOverride(policy::VmLimits limits, const control::VmOverride& o,
                                      int64_t max_kib);

}  // namespace balloond
