// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <boost/asio/io_context.hpp>
#include <memory>

#include "config/spec.h"
#include "daemon/admin/commands.h"
#include "daemon/admin/control_server.h"
#include "daemon/admin/daemon_access.h"
#include "daemon/admin/metrics.h"
#include "daemon/admin/metrics_server.h"
#include "proto/result.h"

namespace balloond {

// The running daemon's admin surface: the control socket with its command dispatcher, and the
// Prometheus listener when `metrics.listen` is set. The daemon opens it once at start (a reload
// never reopens it) and feeds it each tick's figures.
class AdminSurface {
 public:
  // Resolves control.group and control.admin_group, binds the socket and the listener; errors
  // name the config key or the address.
  static Result<std::unique_ptr<AdminSurface>> open(boost::asio::io_context& io,
                                                    DaemonAccess& daemon,
                                                    const config::Config& config);

  // Records one tick for the metrics.
  void observeTick(double duration_s, const TickReport& report, const Controller& controller);
  // Stops accepting and closes every connection.
  void close();

 private:
  explicit AdminSurface(DaemonAccess& daemon) : dispatcher_(daemon) {}

  Dispatcher dispatcher_;
  Metrics metrics_;
  std::unique_ptr<ControlServer> control_server_;
  std::unique_ptr<MetricsServer> metrics_server_;
};

}  // namespace balloond
