// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <istream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace balloond::qmp::testing {

// A scripted QEMU on a Unix socket, on the test's io_context: it greets, answers the commands
// balloond sends (query-name, query-memory-size-summary, qom-list, qom-get, qom-set,
// query-balloon, balloon) from its fields, and can misbehave the ways a real one can: stay
// silent, send garbage, close in the middle of an answer. Like QEMU it serves one client at a
// time: a second one is accepted by the kernel but greeted only when the first leaves.
class FakeQemu {
 public:
  enum class Mode {
    kNormal,
    kSilent,         // accepts, never greets
    kGarbage,        // greets, then answers the first command with garbage
    kCloseMidReply,  // greets, then sends half an answer and closes
  };
  using json = nlohmann::json;
  static constexpr uint64_t kMiB = uint64_t{1024} * 1024;

  FakeQemu(boost::asio::io_context& io, std::string path) : io_(io), path_(std::move(path)) {
    start();
  }
  ~FakeQemu() { stop(); }
  FakeQemu(const FakeQemu&) = delete;
  FakeQemu& operator=(const FakeQemu&) = delete;
  FakeQemu(FakeQemu&&) = delete;
  FakeQemu& operator=(FakeQemu&&) = delete;

  // Listens (again) on the path, replacing any file there: a QEMU starting.
  void start() {
    ::unlink(path_.c_str());
    acceptor_ = std::make_unique<boost::asio::local::stream_protocol::acceptor>(
        io_, boost::asio::local::stream_protocol::endpoint(path_));
    acceptor_->listen(1);
    accept();
  }
  // Stops listening and drops its client, leaving the socket file behind: QEMU killed.
  void stop() {
    if (acceptor_) {
      boost::system::error_code ignored;
      acceptor_->close(ignored);
      acceptor_.reset();
    }
    dropClient();
  }
  // Drops the current client, as QEMU does when it exits.
  void dropClient() {
    if (client_) {
      boost::system::error_code ignored;
      client_->socket.close(ignored);
      client_.reset();
    }
  }
  // Sends an event to the connected client, if any.
  void event(const std::string& event_name, const json& data) {
    if (client_ && client_->greeted) {
      send(json{{"event", event_name},
                {"data", data},
                {"timestamp", {{"seconds", 1}, {"microseconds", 0}}}});
    }
  }

  // What it plays.
  Mode mode = Mode::kNormal;
  std::string name = "vm1";  // empty: started without -name
  uint64_t max_bytes = 1024 * kMiB;
  uint64_t actual_bytes = 1024 * kMiB;
  std::string balloon_parent = "/machine/peripheral";  // empty: no balloon device
  std::string balloon_id = "balloon0";
  uint64_t polling_s = 2;
  bool driver = true;  // the guest's driver moves actual to the target at once
  bool events = true;  // sends BALLOON_CHANGE when actual moves
  json stats = {{"stat-available-memory", 600 * kMiB},
                {"stat-total-memory", 960 * kMiB},
                {"stat-free-memory", 500 * kMiB},
                {"stat-disk-caches", 50 * kMiB},
                {"stat-swap-in", 0},
                {"stat-swap-out", 0},
                {"stat-major-faults", 10},
                {"stat-minor-faults", 1000},
                {"stat-htlb-pgalloc", UINT64_MAX}};
  int64_t last_update =
      static_cast<int64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count());

  // What it saw.
  std::vector<std::string> commands;  // every command executed, in order
  std::vector<uint64_t> balloon_values;
  int connections = 0;
  [[nodiscard]] bool hasClient() const { return client_ != nullptr; }

 private:
  struct Client {
    explicit Client(boost::asio::io_context& io) : socket(io) {}
    boost::asio::local::stream_protocol::socket socket;
    boost::asio::streambuf in;
    bool greeted = false;
  };

  void accept() {
    if (!acceptor_ || client_) {
      return;  // one client at a time: the next is accepted when this one leaves
    }
    auto client = std::make_shared<Client>(io_);
    acceptor_->async_accept(client->socket, [this, client](const boost::system::error_code& ec) {
      if (ec) {
        return;
      }
      ++connections;
      client_ = client;
      if (mode != Mode::kSilent) {
        client_->greeted = true;
        send(json{
            {"QMP", {{"version", {{"qemu", {{"major", 7}}}}}, {"capabilities", json::array()}}}});
      }
      read(client);
    });
  }

  void read(const std::shared_ptr<Client>& client) {
    boost::asio::async_read_until(client->socket, client->in, '\n',
                                  [this, client](const boost::system::error_code& ec, std::size_t) {
                                    if (ec) {
                                      if (client_ == client) {
                                        client_.reset();
                                        accept();
                                      }
                                      return;
                                    }
                                    std::istream is(&client->in);
                                    std::string line;
                                    std::getline(is, line);
                                    if (client_ != client) {
                                      return;
                                    }
                                    answer(json::parse(line));
                                    if (client_ == client) {
                                      read(client);
                                    }
                                  });
  }

  void answer(const json& request) {
    const std::string command = request.value("execute", "");
    commands.push_back(command);
    const json id = request.contains("id") ? request["id"] : json();
    if (mode == Mode::kGarbage && command != "qmp_capabilities") {
      raw(R"({"return": [1, 2,, garbage)"
          "\x01\r\n");
      return;
    }
    if (mode == Mode::kCloseMidReply && command != "qmp_capabilities") {
      raw(R"({"return": {"act)");
      dropClient();
      accept();
      return;
    }
    const json args = request.value("arguments", json::object());
    auto reply = [&](const json& ret) { send(json{{"return", ret}, {"id", id}}); };
    auto error = [&](const std::string& cls, const std::string& desc) {
      send(json{{"error", {{"class", cls}, {"desc", desc}}}, {"id", id}});
    };
    const std::string balloon_path = balloon_parent + "/" + balloon_id;
    if (command == "qmp_capabilities") {
      reply(json::object());
    } else if (command == "query-name") {
      reply(name.empty() ? json::object() : json{{"name", name}});
    } else if (command == "query-memory-size-summary") {
      reply({{"base-memory", max_bytes}, {"plugged-memory", 0}});
    } else if (command == "qom-list") {
      json children = json::array({{{"name", "type"}, {"type", "string"}}});
      if (!balloon_parent.empty() && args.value("path", "") == balloon_parent) {
        children.push_back({{"name", balloon_id}, {"type", "child<virtio-balloon-pci>"}});
      }
      reply(children);
    } else if (command == "qom-get" || command == "qom-set") {
      if (balloon_parent.empty() || args.value("path", "") != balloon_path) {
        error("DeviceNotFound", "Device '" + args.value("path", "") + "' not found");
      } else if (args.value("property", "") == "guest-stats-polling-interval") {
        if (command == "qom-set") {
          polling_s = args.value("value", 0U);
          reply(json::object());
        } else {
          reply(polling_s);
        }
      } else {
        reply({{"stats", stats}, {"last-update", driver ? last_update : 0}});
      }
    } else if (command == "query-balloon" || command == "balloon") {
      if (balloon_parent.empty()) {
        error("DeviceNotActive", "No balloon device has been activated");
      } else if (command == "query-balloon") {
        reply({{"actual", actual_bytes}});
      } else {
        const uint64_t value = args.value("value", 0ULL);
        balloon_values.push_back(value);
        reply(json::object());
        if (driver && value != actual_bytes) {
          actual_bytes = value;
          if (events) {
            event("BALLOON_CHANGE", {{"actual", actual_bytes}});
          }
        }
      }
    } else {
      error("CommandNotFound", "The command " + command + " has not been found");
    }
  }

  void send(const json& message) { raw(message.dump() + "\r\n"); }
  void raw(std::string bytes) {
    if (!client_) {
      return;
    }
    auto buffer = std::make_shared<std::string>(std::move(bytes));
    boost::asio::async_write(client_->socket, boost::asio::buffer(*buffer),
                             [buffer](const boost::system::error_code&, std::size_t) {});
  }

  boost::asio::io_context& io_;
  std::string path_;
  std::unique_ptr<boost::asio::local::stream_protocol::acceptor> acceptor_;
  std::shared_ptr<Client> client_;
};

// Runs `io` until `done` holds or `limit` passes; whether it held.
inline bool runUntil(boost::asio::io_context& io, const std::function<bool()>& done,
                     std::chrono::milliseconds limit = std::chrono::milliseconds(3000)) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= end) {
      return false;
    }
    io.restart();
    io.run_for(std::chrono::milliseconds(5));
  }
  return true;
}

}  // namespace balloond::qmp::testing
