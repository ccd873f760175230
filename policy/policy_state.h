#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <string>

namespace balloond::policy {

// What the policies and guards remember about one VM between ticks.
struct VmPolicyState {
  int64_t last_target_kib = 0;  // last target the guards let through
  double last_grow_s = -1e9;    // when the VM was last given memory
  double last_shrink_s = -1e9;  // when the VM was last asked to shrink
  std::string last_reason;      // why its target last changed
};

// Memory of all VMs plus host-wide history, owned by the controller, passed to each tick.
struct PolicyState {
  std::map<std::string, VmPolicyState> vms;
  std::deque<double> host_free_history;  // recent host free fractions, newest last
};

}  // namespace balloond::policy
