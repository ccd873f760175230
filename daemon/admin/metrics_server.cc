// SPDX-License-Identifier: Apache-2.0
#include "daemon/admin/metrics_server.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <cstdint>
#include <istream>

#include "daemon/admin/scrape_request.h"

namespace balloond {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

constexpr std::size_t kMaxRequestBytes = 8192;
constexpr auto kTimeout = std::chrono::seconds(5);
constexpr int kAnyone = -1;  // the metrics port has no credentials: one count for every peer

std::string httpResponse(int code, std::string_view status, std::string_view type,
                         const std::string& body) {
  return fmt::format(
      "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
      code, status, type, body.size(), body);
}

// One scrape: read the request head, answer, close.
class Exchange : public std::enable_shared_from_this<Exchange> {
 public:
  Exchange(tcp::socket socket, std::shared_ptr<MetricsServer::Render> render,
           std::shared_ptr<ConnectionGate> gate)
      : socket_(std::move(socket)),
        render_(std::move(render)),
        timer_(socket_.get_executor()),
        buffer_(kMaxRequestBytes),
        gate_(std::move(gate)) {}
  // The gate admitted this connection before the exchange was made.
  ~Exchange() { gate_->release(kAnyone); }
  Exchange(const Exchange&) = delete;
  Exchange& operator=(const Exchange&) = delete;
  Exchange(Exchange&&) = delete;
  Exchange& operator=(Exchange&&) = delete;

  void start() {
    timer_.expires_after(kTimeout);
    timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (!ec) {
        boost::system::error_code ignored;
        self->socket_.close(ignored);
      }
    });
    asio::async_read_until(socket_, buffer_, "\r\n\r\n",
                           [self = shared_from_this()](const boost::system::error_code& ec,
                                                       std::size_t) { self->onRequest(ec); });
  }

 private:
  void onRequest(const boost::system::error_code& ec) {
    if (ec) {
      timer_.cancel();
      return;
    }
    const auto data = buffer_.data();
    const std::string_view head(static_cast<const char*>(data.data()), data.size());
    switch (parseScrapeRequest(head)) {
      case ScrapeRequest::kMethodNotAllowed:
        reply(httpResponse(405, "Method Not Allowed", "text/plain", "GET only\n"));
        break;
      case ScrapeRequest::kNotFound:
        reply(httpResponse(404, "Not Found", "text/plain", "see /metrics\n"));
        break;
      case ScrapeRequest::kMetrics:
        reply(httpResponse(200, "OK", "text/plain; version=0.0.4; charset=utf-8", (*render_)()));
        break;
    }
  }

  void reply(std::string out) {
    out_ = std::move(out);
    asio::async_write(socket_, asio::buffer(out_),
                      [self = shared_from_this()](const boost::system::error_code&, std::size_t) {
                        boost::system::error_code ignored;
                        self->socket_.shutdown(tcp::socket::shutdown_both, ignored);
                        self->socket_.close(ignored);
                        self->timer_.cancel();
                      });
  }

  tcp::socket socket_;
  std::shared_ptr<MetricsServer::Render> render_;
  asio::steady_timer timer_;
  asio::streambuf buffer_;
  std::string out_;
  std::shared_ptr<ConnectionGate> gate_;
};

}  // namespace

MetricsServer::MetricsServer(asio::io_context& io, Render render, int max_connections)
    : acceptor_(io),
      retry_(io),
      render_(std::make_shared<Render>(std::move(render))),
      gate_(std::make_shared<ConnectionGate>(max_connections, max_connections, 0)) {}

Result<std::unique_ptr<MetricsServer>> MetricsServer::create(asio::io_context& io,
                                                             const std::string& listen,
                                                             Render render, int max_connections) {
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos) {
    return Error{"metrics.listen '" + listen + "': expected ADDRESS:PORT"};
  }
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  if (ec) {
    return Error{"metrics.listen '" + listen + "': " + ec.message()};
  }
  const auto port = static_cast<std::uint16_t>(std::stoi(listen.substr(colon + 1)));
  std::unique_ptr<MetricsServer> server(new MetricsServer(io, std::move(render), max_connections));
  const tcp::endpoint endpoint(address, port);
  auto& a = server->acceptor_;
  if (a.open(endpoint.protocol(), ec); !ec) {
    if (a.set_option(tcp::acceptor::reuse_address(true), ec); !ec) {
      if (a.bind(endpoint, ec); !ec) {
        a.listen(asio::socket_base::max_listen_connections, ec);
      }
    }
  }
  if (ec == boost::system::errc::address_family_not_supported) {
    // What the packaged unit's RestrictAddressFamilies=AF_UNIX does to an IP socket.
    return Error{"metrics.listen '" + listen + "': " + ec.message() +
                 " (IP sockets are not allowed here: under the balloond unit, install the "
                 "metrics.conf drop-in from /usr/share/doc/balloond/examples)"};
  }
  if (ec) {
    return Error{"metrics.listen '" + listen + "': " + ec.message()};
  }
  spdlog::info("metrics-listening address={} port={}", host, server->port());
  server->accept();
  return server;
}

void MetricsServer::accept() {
  acceptor_.async_accept([this](const boost::system::error_code& ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted) {
      return;
    }
    if (!ec) {
      if (gate_->admit(kAnyone)) {
        std::make_shared<Exchange>(std::move(socket), render_, gate_)->start();
      } else {
        refuse(socket);
      }
      accept();
      return;
    }
    spdlog::warn("metrics-accept-failed error=\"{}\"", ec.message());
    retry_.expires_after(std::chrono::milliseconds(100));
    retry_.async_wait([this](const boost::system::error_code& wait_ec) {
      if (!wait_ec) {
        accept();
      }
    });
  });
}

void MetricsServer::refuse(tcp::socket& socket) {
  // Answered without waiting (a fresh socket's buffer takes it) and closed at once.
  boost::system::error_code ignored;
  socket.non_blocking(true, ignored);
  const std::string answer =
      httpResponse(503, "Service Unavailable", "text/plain", "too many connections\n");
  socket.write_some(asio::buffer(answer), ignored);
  const auto peer = socket.remote_endpoint(ignored);
  socket.shutdown(tcp::socket::shutdown_both, ignored);
  socket.close(ignored);
  refusals_.refused(fmt::format("address={} open={}", peer.address().to_string(), gate_->open()),
                    std::chrono::steady_clock::now());
}

}  // namespace balloond
