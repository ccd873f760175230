// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <vector>

#include "policy/policy.h"
#include "policy/policy_state.h"

namespace balloond::policy {

// The guard settings in KiB, as the guards use them.
struct Guards {
  int64_t inflate_step_kib = 0;      // most a VM shrinks per tick
  double inflate_step_fraction = 1;  // and at most this fraction of its actual size per tick
  double emergency_step_factor = 1;  // host available under the reserve: steps this much larger
  int64_t deflate_step_kib = 0;      // most a VM grows per tick
  int64_t min_change_kib = 0;        // smaller changes are not worth a push
  int64_t need_margin_kib = 0;       // never below guest used + this
  double grow_holdoff_s = 0;         // no shrinking this long after a grow
  int64_t host_reserve_kib = 0;      // growth never takes host available below this
};

// Makes every policy's proposal safe, in one place: floors (configured and need-based), ceilings,
// step limits (absolute and relative), no shrinking on stale stats, of a stuck or uncooperative
// guest, or right after a grow, hysteresis, the host reserve emergency (host available under the
// reserve: reclaim with larger steps, least pressured VMs first) and the host reserve for growth
// (most pressured VMs first; growth to a need-based floor may use the reserve, never more memory
// than the host has). Returns one final decision per managed VM in `input.vms`, whose
// reason names the policy rule and any guard that changed it.
std::vector<Decision> applyGuards(const PolicyInput& input, const std::vector<Decision>& proposed,
                                  const Guards& guards, const PolicyState& state);

// The lowest target a VM may be given now: its floor, or what its guest uses plus a margin (at
// most its actual size: a guest short of memory is not shrunk, but the floor does not grow it).
int64_t effectiveFloorKib(const VmView& vm, const Guards& guards);

// The most a VM may shrink this tick: the absolute and the relative limit, times
// `emergency_step_factor` when `emergency`.
int64_t inflateStepKib(const VmView& vm, const Guards& guards, bool emergency);

}  // namespace balloond::policy
