// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <optional>

#include "policy/policy_state.h"
#include "policy/vm_view.h"

namespace balloond::policy {

constexpr int64_t kPageKib = 4;  // a major fault brings back one 4 KiB page

// Turns the guest's cumulative counters into rates in `h`, once per new stats report (calling it
// again for the same report changes nothing). A counter that goes backwards (guest reboot)
// restarts the rate at 0. Returns the seconds the new report covers, or 0 when it was seen
// already (or is the first).
double observeCounters(VmPolicyState& h, const VmSample& s);

// The guest's refault rate from the last two reports, KiB/s: major faults times a page plus
// swap-in. This is the pressure signal: memory the guest needed and had to read back.
double refaultKibPerS(const VmPolicyState& h);

// Guest available memory clamped to [0, actual], or nothing when the guest does not report it.
std::optional<int64_t> availableKib(const VmSample& s);

// What the guest uses (actual minus available), or all of actual when it does not say.
int64_t usedKib(const VmSample& s);

}  // namespace balloond::policy
