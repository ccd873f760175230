// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <sys/types.h>

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "daemon/qmp/reader.h"
#include "proto/result.h"

namespace balloond::qmp {

// One QMP conversation with one QEMU over its Unix socket, on the daemon's io_context: connect,
// the greeting, qmp_capabilities, then commands (several may be in flight; answers are matched by
// id) and events. QEMU is an untrusted peer: lines are bounded, and a malformed message, an answer
// to no command of ours, EOF or an error ends the conversation. Ending it (or close()) answers
// every command still waiting with an Error, from the io_context, never from inside the call.
// Deadlines are the owner's: it closes a conversation that takes too long.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  using Reply = std::function<void(Result<nlohmann::json>)>;
  using EventHandler = std::function<void(const Message&)>;
  using EndHandler = std::function<void(const Error&)>;

  static std::shared_ptr<Connection> create(boost::asio::io_context& io, std::string path);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  Connection(Connection&&) = delete;
  Connection& operator=(Connection&&) = delete;

  // Connects and negotiates; `ready` gets Ok once commands may be sent, or why not.
  void open(std::function<void(Status)> ready);
  // Sends a command; `reply` gets its `return` value, or an Error (QEMU's, or the end's).
  void execute(std::string_view command, const nlohmann::json& arguments, Reply reply);
  // Events, as they arrive, once open.
  void onEvent(EventHandler handler) { on_event_ = std::move(handler); }
  // Called once when the conversation ends by itself (not by close()).
  void onEnd(EndHandler handler) { on_end_ = std::move(handler); }
  // Ends the conversation now. Safe to call more than once.
  void close();

  [[nodiscard]] bool isOpen() const { return state_ == State::kOpen; }
  [[nodiscard]] const std::string& path() const { return path_; }
  // QEMU's process id, from the socket's peer credentials, once connected.
  [[nodiscard]] std::optional<pid_t> peerPid() const { return peer_pid_; }
  // Whether the connect itself was refused: nobody listens on the socket file (QEMU is gone).
  [[nodiscard]] bool refused() const { return refused_; }

 private:
  enum class State { kIdle, kConnecting, kGreeting, kNegotiating, kOpen, kEnded };

  Connection(boost::asio::io_context& io, std::string path);
  void readMore();
  void handle(const Message& m);
  void send(std::string line);
  void writeNext();
  void end(const Error& why, bool by_owner);

  boost::asio::io_context& io_;
  boost::asio::local::stream_protocol::socket socket_;
  std::string path_;
  State state_ = State::kIdle;
  LineReader reader_;
  std::array<char, 4096> buffer_{};
  std::deque<std::string> outbox_;
  bool writing_ = false;
  uint64_t next_id_ = 1;
  std::map<uint64_t, Reply> waiting_;
  std::function<void(Status)> ready_;
  EventHandler on_event_;
  EndHandler on_end_;
  std::optional<pid_t> peer_pid_;
  bool refused_ = false;
};

}  // namespace balloond::qmp
