// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "config/spec.h"
#include "daemon/channel.h"
#include "daemon/qmp/vm_link.h"

namespace balloond {

// The channel to QEMU processes over QMP, without libvirt (Proxmox VE, plain QEMU).
//
// Each read() looks for sockets matching the configured globs (a socket that appears is a VM
// starting; one that disappears, or that nobody listens on, is a VM gone), returns what every VM's
// link read since the last tick, and starts this tick's reads: they run on the daemon's
// io_context, all VMs at once, each within `deadline_s`, and land before the next tick. So a VM's
// numbers are at most one tick old, and a QEMU that is busy or hung costs only its own VM a stale
// tick (reported with the reason), never the loop. push() queues the target on the VM's link,
// which delivers it at once. The host's memory and each QEMU's resident size (the lie check) come
// from /proc.
class QmpChannel : public Channel {
 public:
  using Clock = qmp::VmLink::Clock;

  QmpChannel(boost::asio::io_context& io, config::QmpSpec spec, Clock clock = {},
             std::string proc = "/proc");

  [[nodiscard]] std::string name() const override { return "qmp"; }
  Result<Snapshot> read() override;
  Status push(const std::string& vm, int64_t target_kib) override;

  // The links by socket path (tests look inside).
  [[nodiscard]] const std::map<std::string, std::unique_ptr<qmp::VmLink>>& links() const {
    return links_;
  }

 private:
  // The sockets the globs match now, with the mode their glob gives and their inode.
  struct Found {
    const config::QmpSocketSpec* socket = nullptr;
    ino_t inode = 0;
  };
  std::map<std::string, Found> discover();

  boost::asio::io_context& io_;
  config::QmpSpec spec_;
  Clock clock_;
  std::string proc_;
  std::map<std::string, std::unique_ptr<qmp::VmLink>> links_;  // by socket path
  std::map<std::string, ino_t> inodes_;                        // by socket path
  std::map<std::string, std::string> paths_;                   // socket path by VM name
  std::set<std::string> logged_;                               // conditions logged once
};

}  // namespace balloond
