// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "policy/guards.h"
#include "policy/vm_view.h"

namespace balloond::policy {

// One donor's part of a reclaim.
struct ReclaimShare {
  std::string vm;
  int64_t kib = 0;
};

// How an admin reclaim of `need` would be spread, or why it cannot be.
struct ReclaimPlan {
  bool feasible = false;
  int64_t need_kib = 0;
  int64_t capacity_kib = 0;  // what all cooperative donors could give above their floors
  std::vector<ReclaimShare> shares;
};

// Whether a VM can be asked to give memory now: managed, cooperating, fresh stats, not held.
bool canDonate(const VmView& vm);

// Spreads `need_kib` over the VMs that can donate (less those in `skip`), in proportion to what
// each can give above its effective floor, less what it was `promised` to give already, so every
// guest is squeezed alike. Infeasible when the floors leave too little: the caller says so at
// once instead of waiting for timeouts.
ReclaimPlan planReclaim(const std::vector<VmView>& vms, const Guards& guards, int64_t need_kib,
                        const std::set<std::string>& skip = {},
                        const std::map<std::string, int64_t>& promised = {});

}  // namespace balloond::policy
