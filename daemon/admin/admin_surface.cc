// SPDX-License-Identifier: Apache-2.0
#include "daemon/admin/admin_surface.h"

#include <string_view>
#include <utility>

namespace balloond {

Result<std::unique_ptr<AdminSurface>> AdminSurface::open(boost::asio::io_context& io,
                                                         DaemonAccess& daemon,
                                                         const config::Config& config) {
  const config::ControlSpec& spec = config.control;
  ControlServerOptions options{.path = spec.socket,
                               .group = std::nullopt,
                               .admin_group = std::nullopt,
                               .idle_timeout_s = spec.idle_timeout_s,
                               .limits = {},
                               .credentials = nullptr};
  if (!spec.group.empty()) {
    auto gid = lookupGroup(spec.group);
    if (!gid) {
      return Error{config.source + ": control.group: " + gid.error().message};
    }
    options.group = *gid;
  }
  if (!spec.admin_group.empty()) {
    auto gid = lookupGroup(spec.admin_group);
    if (!gid) {
      return Error{config.source + ": control.admin_group: " + gid.error().message};
    }
    options.admin_group = *gid;
  }
  if (auto budget = ensureDescriptorBudget(options.limits); !budget) {
    return budget.error();
  }
  std::unique_ptr<AdminSurface> surface(new AdminSurface(daemon));
  AdminSurface* self = surface.get();
  auto server = ControlServer::create(io, options, [self](std::string_view line, const Peer& peer) {
    return self->dispatcher_.handleLine(line, peer);
  });
  if (!server) {
    return server.error();
  }
  surface->control_server_ = std::move(*server);
  if (!config.metrics.listen.empty()) {
    auto metrics = MetricsServer::create(
        io, config.metrics.listen,
        [self, &daemon] { return self->metrics_.render(daemon.controller()); },
        options.limits.metrics_total);
    if (!metrics) {
      return metrics.error();
    }
    surface->metrics_server_ = std::move(*metrics);
  }
  return surface;
}

void AdminSurface::observeTick(double duration_s, const TickReport& report,
                               const Controller& controller) {
  metrics_.observeTick(duration_s, report, controller);
}

void AdminSurface::close() {
  control_server_->close();
}

}  // namespace balloond
