// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "daemon/admin/connection_limits.h"
#include "proto/result.h"

namespace balloond {

// A minimal HTTP/1.x listener for Prometheus scrapes, on the daemon's io_context: GET /metrics
// answers `render()`; other paths 404, other methods 405. One request per connection, requests
// over 8 KiB or slower than 5 s are dropped; a connection beyond `max_connections` open at once
// is answered 503 and closed at once. Off unless the config sets metrics.listen.
class MetricsServer {
 public:
  using Render = std::function<std::string()>;

  // `listen` is "ADDRESS:PORT" (IPv6 in brackets); port 0 picks a free one (see port()).
  static Result<std::unique_ptr<MetricsServer>> create(
      boost::asio::io_context& io, const std::string& listen, Render render,
      int max_connections = ConnectionLimits{}.metrics_total);
  [[nodiscard]] std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  [[nodiscard]] int64_t connections() const { return gate_->open(); }

 private:
  MetricsServer(boost::asio::io_context& io, Render render, int max_connections);
  void accept();
  void refuse(boost::asio::ip::tcp::socket& socket);

  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer retry_;  // after a failed accept (e.g. out of descriptors)
  std::shared_ptr<Render> render_;
  std::shared_ptr<ConnectionGate> gate_;
  RefusalLog refusals_{"metrics-connection-refused"};
};

}  // namespace balloond
