// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "proto/result.h"
#include "proto/types.h"

namespace balloond {

// The seam to a hypervisor: list VMs with their balloon stats, and push targets.
// Implementations: the simulated host (daemon/sim/), libvirt (daemon/libvirt/) and QMP
// (daemon/qmp/); compile() opens the one a configuration names. The controller calls read() once
// per tick and push() for each changed target, all on the daemon's thread; each call returns
// within a bounded time, whatever the hypervisor does (a channel that waits on one does it
// elsewhere, as libvirt's worker thread and QMP's asynchronous sessions do).
class Channel {
 public:
  virtual ~Channel() = default;
  virtual std::string name() const = 0;
  // Every running VM with its balloon stats and the host's memory, stamped with the channel's time.
  // A VM the channel could not read this time keeps its last sample, with VmSample::unread_reason.
  virtual Result<Snapshot> read() = 0;
  // Asks the guest to move its balloon so it has `target_kib`. A request, not a result.
  virtual Status push(const std::string& vm, int64_t target_kib) = 0;

  // A push that push() took (returned Ok) and that failed afterwards.
  struct FailedPush {
    std::string vm;
    int64_t target_kib = 0;
    std::string error;
  };
  // The pushes that failed since the last call, oldest first; the controller takes them after
  // each successful read(). Only a channel that pushes asynchronously has any.
  virtual std::vector<FailedPush> takeFailedPushes() { return {}; }
};

}  // namespace balloond
