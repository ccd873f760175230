// SPDX-License-Identifier: Apache-2.0
// The daemon's admin surface: control socket, metrics listener, and the figures they show.

#include <spdlog/spdlog.h>

#include "daemon/daemon.h"

#ifndef BALLOOND_VERSION
#define BALLOOND_VERSION "unknown"
#endif

namespace balloond {

Status Daemon::startControl() {
  const config::ControlSpec& spec = config_.control;
  ControlServerOptions options{.path = spec.socket,
                               .group = std::nullopt,
                               .admin_group = std::nullopt,
                               .idle_timeout_s = spec.idle_timeout_s};
  if (!spec.group.empty()) {
    auto gid = lookupGroup(spec.group);
    if (!gid) {
      return Error{config_.source + ": control.group: " + gid.error().message};
    }
    options.group = *gid;
  }
  if (!spec.admin_group.empty()) {
    auto gid = lookupGroup(spec.admin_group);
    if (!gid) {
      return Error{config_.source + ": control.admin_group: " + gid.error().message};
    }
    options.admin_group = *gid;
  }
  dispatcher_ = std::make_unique<Dispatcher>(*this);
  auto server =
      ControlServer::create(io_, options, [this](std::string_view line, const Peer& peer) {
        return dispatcher_->handleLine(line, peer);
      });
  if (!server) {
    return server.error();
  }
  control_server_ = std::move(*server);
  if (!config_.metrics.listen.empty()) {
    auto metrics = MetricsServer::create(io_, config_.metrics.listen,
                                         [this] { return metrics_.render(*controller_); });
    if (!metrics) {
      return metrics.error();
    }
    metrics_server_ = std::move(*metrics);
  }
  return Ok{};
}

void Daemon::observeTick(std::chrono::steady_clock::time_point started,
                         std::chrono::steady_clock::time_point scheduled,
                         const TickReport& report) {
  const auto done = std::chrono::steady_clock::now();
  last_tick_duration_s_ = std::chrono::duration<double>(done - started).count();
  max_tick_duration_s_ = std::max(max_tick_duration_s_, last_tick_duration_s_);
  if (!options_.virtual_clock && ticks_ > 0) {
    max_tick_lateness_s_ =
        std::max(max_tick_lateness_s_, std::chrono::duration<double>(started - scheduled).count());
  }
  channel_error_ = report.error;
  metrics_.observeTick(last_tick_duration_s_, report, *controller_);
}

control::DaemonInfo Daemon::info() const {
  control::DaemonInfo d;
  d.version = BALLOOND_VERSION;
  d.uptime_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  d.channel = channel_->name();
  d.channel_connected = ticks_ > 0 && !channel_error_;
  d.channel_error = channel_error_;
  d.tick_s = config_.tick_s;
  d.ticks = ticks_;
  d.last_tick_duration_s = last_tick_duration_s_;
  d.max_tick_duration_s = max_tick_duration_s_;
  d.max_tick_lateness_s = max_tick_lateness_s_;
  return d;
}

}  // namespace balloond
