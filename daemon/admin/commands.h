// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "config/spec.h"
#include "daemon/admin/daemon_access.h"
#include "daemon/admin/peer.h"
#include "daemon/controller.h"
#include "proto/control.h"

namespace balloond {

// Runs control requests: a static table of named handlers with one central catch (an exception
// becomes result 1), unknown names give result 2, and mutating commands need an admin peer
// (else result 4). Transport-free: the control server hands it lines and writes back its answers.
class Dispatcher {
 public:
  explicit Dispatcher(DaemonAccess& daemon);

  // One request line in, one encoded response line out (newline included).
  std::string handleLine(std::string_view line, const Peer& peer);
  control::Response handle(const control::Request& request, const Peer& peer);
  std::vector<control::CommandInfo> commands() const;

 private:
  using Handler = control::Response (Dispatcher::*)(const control::Request&);
  struct Command {
    std::string_view name;
    bool mutating;
    std::string_view help;
    Handler handler;
  };
  static const Command kCommands[];

  control::Response listCommands(const control::Request& r);
  control::Response statusGet(const control::Request& r);
  control::Response vmList(const control::Request& r);
  control::Response vmGet(const control::Request& r);
  control::Response vmSet(const control::Request& r);
  control::Response configGet(const control::Request& r);
  control::Response configTest(const control::Request& r);
  control::Response configReload(const control::Request& r);
  control::Response daemonPause(const control::Request& r);
  control::Response daemonResume(const control::Request& r);
  control::Response snapshotGet(const control::Request& r);
  control::Response reclaim(const control::Request& r);
  control::Response reclaimGet(const control::Request& r);

  const VmStatus* findVm(const std::string& name) const;
  control::VmInfo vmInfo(const VmStatus& vm, bool detail, size_t decisions) const;

  DaemonAccess& daemon_;
  Peer peer_;  // who sent the request being handled
};

}  // namespace balloond
