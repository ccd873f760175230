// SPDX-License-Identifier: Apache-2.0
#include "policy/reclaim_plan.h"

#include <algorithm>

namespace balloond::policy {

bool canDonate(const VmView& vm) {
  return !vm.limits.excluded && vm.stats_fresh && !vm.shrink_blocked &&
         (vm.ack == AckState::kSettled || vm.ack == AckState::kConverging);
}

ReclaimPlan planReclaim(const std::vector<VmView>& vms, const Guards& guards, int64_t need_kib,
                        const std::set<std::string>& skip,
                        const std::map<std::string, int64_t>& promised) {
  ReclaimPlan plan;
  plan.need_kib = need_kib;
  std::vector<std::pair<const VmView*, int64_t>> donors;
  for (const auto& vm : vms) {
    if (!canDonate(vm) || skip.contains(vm.sample->name)) {
      continue;
    }
    auto it = promised.find(vm.sample->name);
    const int64_t room = vm.sample->actual_kib - effectiveFloorKib(vm, guards) -
                         (it == promised.end() ? 0 : it->second);
    if (room > 0) {
      donors.emplace_back(&vm, room);
      plan.capacity_kib += room;
    }
  }
  plan.feasible = need_kib <= plan.capacity_kib;
  if (!plan.feasible || need_kib <= 0) {
    return plan;
  }
  int64_t left = need_kib;
  for (size_t i = 0; i < donors.size(); ++i) {
    const auto& [vm, room] = donors[i];
    // Proportional shares; the last donor takes the rounding remainder.
    int64_t share =
        i + 1 == donors.size()
            ? left
            : static_cast<int64_t>(static_cast<double>(need_kib) * static_cast<double>(room) /
                                   static_cast<double>(plan.capacity_kib));
    share = std::min({share, room, left});
    if (share > 0) {
      plan.shares.push_back({vm->sample->name, share});
      left -= share;
    }
  }
  return plan;
}

}  // namespace balloond::policy
