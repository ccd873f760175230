// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "proto/result.h"

namespace balloond {

// A minimal HTTP/1.x listener for Prometheus scrapes, on the daemon's io_context: GET /metrics
// answers `render()`; other paths 404, other methods 405. One request per connection, requests
// over 8 KiB or slower than 5 s are dropped. Off unless the config sets metrics.listen.
class MetricsServer {
 public:
  using Render = std::function<std::string()>;

  // `listen` is "ADDRESS:PORT" (IPv6 in brackets); port 0 picks a free one (see port()).
  static Result<std::unique_ptr<MetricsServer>> create(boost::asio::io_context& io,
                                                       const std::string& listen, Render render);
  [[nodiscard]] std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

 private:
  MetricsServer(boost::asio::io_context& io, Render render);
  void accept();

  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer retry_;  // after a failed accept (e.g. out of descriptors)
  std::shared_ptr<Render> render_;
};

}  // namespace balloond
