// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "daemon/channel.h"

namespace balloond::testing {

// A channel that returns a scripted snapshot and records every push. Tests edit `snapshot`
// between ticks; `fail_read` and `fail_push_for` inject errors, `failed_later` failures of pushes
// already taken (as an asynchronous channel reports them).
class FakeChannel : public Channel {
 public:
  std::string name() const override { return "fake"; }
  Result<Snapshot> read() override {
    if (fail_read) {
      return Error{"fake: cannot read"};
    }
    return snapshot;
  }
  Status push(const std::string& vm, int64_t target_kib) override {
    if (vm == fail_push_for) {
      return Error{"fake: push refused"};
    }
    pushes.emplace_back(vm, target_kib);
    return Ok{};
  }
  std::vector<FailedPush> takeFailedPushes() override { return std::exchange(failed_later, {}); }

  // Sets the clock and the host's memory (MiB); no free or PSI figure.
  void setHost(double time_s, double total_mib, double available_mib) {
    snapshot.time_s = time_s;
    snapshot.host = {.total_kib = mibToKib(total_mib),
                     .available_kib = mibToKib(available_mib),
                     .free_kib = {},
                     .psi_some_avg10 = {}};
  }

  // Adds a VM with fresh stats, sizes in MiB.
  VmSample& addVm(const std::string& name, double max_mib, double actual_mib,
                  double available_mib) {
    VmSample vm;
    vm.name = name;
    vm.max_kib = mibToKib(max_mib);
    vm.actual_kib = mibToKib(actual_mib);
    vm.guest.available_kib = mibToKib(available_mib);
    vm.guest.last_update_s = snapshot.time_s;
    snapshot.vms.push_back(vm);
    return snapshot.vms.back();
  }

  Snapshot snapshot;
  bool fail_read = false;
  std::string fail_push_for;
  std::vector<FailedPush> failed_later;
  std::vector<std::pair<std::string, int64_t>> pushes;
};

}  // namespace balloond::testing
