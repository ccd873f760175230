// SPDX-License-Identifier: Apache-2.0
#pragma once

namespace balloond {

// Who sent a request, from SO_PEERCRED on the control socket.
struct Peer {
  int uid = -1;
  int gid = -1;
  int pid = -1;
  bool admin = false;  // root or a member of the configured admin group: may run mutating commands
};

}  // namespace balloond
