// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "daemon/admin/commands.h"
#include "daemon/admin/connection_limits.h"
#include "proto/result.h"

namespace balloond {

// Where and to whom the control socket listens.
struct ControlServerOptions {
  std::string path;
  std::optional<gid_t> group;        // the socket's group; none: root's group
  std::optional<gid_t> admin_group;  // its members may run mutating commands (root always may)
  double idle_timeout_s = 30;
  ConnectionLimits limits;  // control_total, control_per_uid, control_root
  // Reads a connected peer's uid, gid and pid (admin is filled in later); none: SO_PEERCRED.
  // Tests inject one to play several users.
  std::function<std::optional<Peer>(int fd)> credentials;
};

// The control socket's transport: a Unix stream socket on the daemon's io_context. It frames one
// request per line (at most control::kMaxRequestBytes), reads the peer's credentials, times out
// idle connections with a well-formed error, refuses a connection over the limits (per uid, in
// total; root has slots of its own) with a well-formed error and a close, and hands each line to
// `handler`, whose answer it writes back. Every client is asynchronous: none can hold up the tick
// or another client.
class ControlServer {
 public:
  using Handler = std::function<std::string(std::string_view line, const Peer& peer)>;

  static Result<std::unique_ptr<ControlServer>> create(boost::asio::io_context& io,
                                                       ControlServerOptions options,
                                                       Handler handler);
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;
  ControlServer(ControlServer&&) = delete;
  ControlServer& operator=(ControlServer&&) = delete;

  // Stops accepting and closes every open connection.
  void close();
  [[nodiscard]] int64_t connections() const { return gate_->open(); }

 private:
  ControlServer(boost::asio::io_context& io, ControlServerOptions options, Handler handler);
  void accept();
  void refuse(boost::asio::local::stream_protocol::socket& socket, const Peer& peer,
              const std::string& why);

  ControlServerOptions options_;
  std::shared_ptr<Handler> handler_;
  boost::asio::local::stream_protocol::acceptor acceptor_;
  boost::asio::steady_timer retry_;  // after a failed accept (e.g. out of descriptors)
  std::shared_ptr<ConnectionGate> gate_;
  RefusalLog refusals_{"control-connection-refused"};
  std::shared_ptr<bool> closed_ = std::make_shared<bool>(false);
};

// Resolves a group name; an Error names it when there is no such group.
Result<gid_t> lookupGroup(const std::string& name);
// Whether `uid` (primary group `gid`) is root or belongs to `admin_group`.
bool isAdmin(uid_t uid, gid_t gid, std::optional<gid_t> admin_group);

}  // namespace balloond
