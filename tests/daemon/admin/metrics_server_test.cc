// SPDX-License-Identifier: Apache-2.0
#include "daemon/admin/metrics_server.h"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <thread>
#include <vector>

namespace balloond {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace std::chrono_literals;

std::string readAll(tcp::socket& s) {
  std::string out;
  boost::system::error_code ec;
  asio::read(s, asio::dynamic_buffer(out), ec);
  return out;
}

// Connections that never send a request hold their slots; one over the limit gets a 503 at once,
// and a scrape works again when a slot is free.
TEST(MetricsServer, ConnectionsOverTheLimitAreAnswered503AndClosed) {
  spdlog::set_level(spdlog::level::off);
  asio::io_context io;
  auto server = MetricsServer::create(
      io, "127.0.0.1:0", [] { return std::string("up 1\n"); }, 3);
  ASSERT_TRUE(server.ok()) << server.error().message;
  const auto port = (*server)->port();
  std::thread loop([&] {
    auto guard = asio::make_work_guard(io);
    io.run();
  });
  asio::io_context client_io;
  const tcp::endpoint at(asio::ip::make_address("127.0.0.1"), port);
  std::vector<tcp::socket> idle;
  for (int i = 0; i < 3; ++i) {
    idle.emplace_back(client_io);
    idle.back().connect(at);
  }
  for (int i = 0; i < 200 && (*server)->connections() < 3; ++i) {
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_EQ((*server)->connections(), 3);
  tcp::socket extra(client_io);
  extra.connect(at);
  const std::string refused = readAll(extra);
  EXPECT_EQ(refused.rfind("HTTP/1.1 503 Service Unavailable\r\n", 0), 0U) << refused;

  idle.front().close();
  for (int i = 0; i < 200 && (*server)->connections() > 2; ++i) {
    std::this_thread::sleep_for(5ms);
  }
  tcp::socket scrape(client_io);
  scrape.connect(at);
  asio::write(scrape, asio::buffer(std::string("GET /metrics HTTP/1.1\r\n\r\n")));
  const std::string ok = readAll(scrape);
  EXPECT_EQ(ok.rfind("HTTP/1.1 200 OK\r\n", 0), 0U) << ok;
  io.stop();
  loop.join();
}

}  // namespace
}  // namespace balloond
