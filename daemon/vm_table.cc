// SPDX-License-Identifier: Apache-2.0
#include "daemon/vm_table.h"

#include <fmt/format.h>

namespace balloond {

namespace {

std::string mib(int64_t kib) {
  return fmt::format("{}", kib / kKibPerMib);
}

}  // namespace

std::string renderVmTable(const Snapshot& snapshot, const std::vector<VmStatus>& vms) {
  int64_t balloons_kib = 0;
  for (const auto& vm : vms) {
    balloons_kib += vm.max_kib - vm.actual_kib;
  }
  std::string out =
      fmt::format("t={:.0f}s  host: total {} MiB, available {} MiB  balloons hold {} MiB  VMs {}\n",
                  snapshot.time_s, mib(snapshot.host.total_kib), mib(snapshot.host.available_kib),
                  mib(balloons_kib), vms.size());
  out += fmt::format("{:<12} {:>7} {:>7} {:>7} {:>7} {:>7}  {:<13} {}\n", "VM", "MAX", "TARGET",
                     "ACTUAL", "AVAIL", "FLOOR", "STATE", "REASON");
  for (const auto& vm : vms) {
    out += fmt::format(
        "{:<12} {:>7} {:>7} {:>7} {:>7} {:>7}  {:<13} {}\n", vm.name, mib(vm.max_kib),
        mib(vm.target_kib), mib(vm.actual_kib), vm.available_kib ? mib(*vm.available_kib) : "-",
        mib(vm.floor_kib), policy::toString(vm.state),
        vm.state_reason.empty() ? vm.reason : vm.reason + " [" + vm.state_reason + "]");
  }
  return out;
}

}  // namespace balloond
