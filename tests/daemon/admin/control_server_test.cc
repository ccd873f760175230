// SPDX-License-Identifier: Apache-2.0
#include "daemon/admin/control_server.h"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <filesystem>
#include <thread>

#include "ctl/client.h"
#include "daemon/state/store.h"
#include "proto/control.h"

namespace balloond {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A blocking client on a raw socket, to send what balloonctl never would.
class RawClient {
 public:
  // `bind_to`: a path to bind the client's end to first, which a test's credential reader can
  // see (getpeername) to play a user.
  explicit RawClient(const std::string& path, const std::string& bind_to = "", int timeout_s = 10)
      : fd_(socket(AF_UNIX, SOCK_STREAM, 0)) {
    if (!bind_to.empty()) {
      sockaddr_un self{};
      self.sun_family = AF_UNIX;
      std::snprintf(self.sun_path, sizeof self.sun_path, "%s", bind_to.c_str());
      bind(fd_, reinterpret_cast<sockaddr*>(&self), sizeof self);
    }
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    timeval tv{.tv_sec = timeout_s, .tv_usec = 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~RawClient() { close(fd_); }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;
  RawClient(RawClient&&) = delete;
  RawClient& operator=(RawClient&&) = delete;

  [[nodiscard]] bool connected() const { return connected_; }
  bool send(std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) {
        return false;
      }
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }
  // One line (without its newline), or "" at EOF or timeout.
  std::string line() {
    std::string out;
    char c = 0;
    while (recv(fd_, &c, 1, 0) == 1) {
      if (c == '\n') {
        return out;
      }
      out += c;
    }
    return out;
  }

 private:
  int fd_;
  bool connected_ = false;
};

// The server on its own io_context thread with a 20 ms "tick" timer that records how late it
// fires; the handler echoes the command name, as a dispatcher would answer.
class ControlServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    spdlog::set_level(spdlog::level::off);
    dir =
        std::filesystem::temp_directory_path() / ("balloond-ctl-test-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir);
    path = (dir / "control.sock").string();
  }
  void TearDown() override {
    if (thread.joinable()) {
      io.stop();
      thread.join();
    }
    server.reset();
    std::filesystem::remove_all(dir);
  }
  void start(double idle_timeout_s, ConnectionLimits limits = {},
             std::function<std::optional<Peer>(int)> credentials = nullptr) {
    auto s = ControlServer::create(io,
                                   ControlServerOptions{.path = path,
                                                        .group = std::nullopt,
                                                        .admin_group = std::nullopt,
                                                        .idle_timeout_s = idle_timeout_s,
                                                        .limits = limits,
                                                        .credentials = std::move(credentials)},
                                   [this](std::string_view line, const Peer& peer) {
                                     ++handled;
                                     last_peer_uid = peer.uid;
                                     auto r = control::parseRequest(line);
                                     if (!r) {
                                       return control::encode(control::error(r.error().message));
                                     }
                                     return control::encode(control::ok(r->command, r->arguments));
                                   });
    ASSERT_TRUE(s.ok()) << s.error().message;
    server = std::move(*s);
    scheduleTick(Clock::now() + kTick);
    thread = std::thread([this] { io.run(); });
  }
  void scheduleTick(Clock::time_point at) {
    tick_timer.expires_at(at);
    tick_timer.async_wait([this, at](const boost::system::error_code& ec) {
      if (ec) {
        return;
      }
      const auto late = Clock::now() - at;
      max_lateness_ns = std::max<int64_t>(
          max_lateness_ns, std::chrono::duration_cast<std::chrono::nanoseconds>(late).count());
      ++ticks;
      scheduleTick(at + kTick);
    });
  }

  static constexpr auto kTick = 20ms;
  boost::asio::io_context io;
  boost::asio::steady_timer tick_timer{io};
  std::unique_ptr<ControlServer> server;
  std::thread thread;
  std::filesystem::path dir;
  std::string path;
  std::atomic<int64_t> handled{0};
  std::atomic<int> last_peer_uid{-1};
  std::atomic<int64_t> max_lateness_ns{0};
  std::atomic<int64_t> ticks{0};
};

TEST_F(ControlServerTest, TheSocketIsMode0660AndRemovedOnClose) {
  start(5);
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0660U);
  io.stop();
  thread.join();
  server->close();
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST_F(ControlServerTest, AnswersLineByLineAndReadsPeerCredentials) {
  start(5);
  RawClient c(path);
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.send("{\"command\":\"a\"}\n\n{\"command\":\"b\"}\n"));
  EXPECT_EQ(c.line(), R"({"arguments":{},"result":0,"text":"a"})");
  EXPECT_EQ(c.line(), R"({"arguments":{},"result":0,"text":"b"})");
  EXPECT_EQ(last_peer_uid, static_cast<int>(getuid()));
}

TEST_F(ControlServerTest, AStaleSocketIsReplacedAndALiveOneRefused) {
  start(5);
  boost::asio::io_context other;
  auto second = ControlServer::create(other,
                                      ControlServerOptions{.path = path,
                                                           .group = std::nullopt,
                                                           .admin_group = std::nullopt,
                                                           .idle_timeout_s = 1,
                                                           .limits = {},
                                                           .credentials = nullptr},
                                      nullptr);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().message,
            "control socket " + path + ": another daemon is listening there");
}

TEST_F(ControlServerTest, OversizedAndIdleRequestsGetAWellFormedErrorAndAClose) {
  start(0.3);
  RawClient big(path);
  ASSERT_TRUE(big.connected());
  big.send(std::string(control::kMaxRequestBytes + 10, 'x'));
  const std::string answer = big.line();
  auto r = control::parseResponse(answer);
  ASSERT_TRUE(r.ok()) << answer;
  EXPECT_EQ(r->result, control::ResultCode::kError);
  EXPECT_EQ(r->text, "request too large: at most 65536 bytes per line");
  EXPECT_EQ(big.line(), "");  // closed

  RawClient idle(path);
  idle.send("{\"command\": \"half a requ");
  const auto t0 = Clock::now();
  auto timeout = control::parseResponse(idle.line());
  ASSERT_TRUE(timeout.ok());
  EXPECT_EQ(timeout->text, "idle timeout: no complete request in 0.3 s");
  EXPECT_GE(Clock::now() - t0, 250ms);
  EXPECT_EQ(idle.line(), "");
}

// Plays users: a client bound to ".../uid-N-..." is uid N; any other is who SO_PEERCRED says.
std::optional<Peer> uidFromBoundPath(int fd) {
  sockaddr_un addr{};
  socklen_t len = sizeof addr;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    const std::string name = std::filesystem::path(addr.sun_path).filename().string();
    if (name.rfind("uid-", 0) == 0) {
      return Peer{.uid = std::stoi(name.substr(4)), .gid = 100, .pid = 1, .admin = false};
    }
  }
  return std::nullopt;
}

int openDescriptors() {
  int n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
    ++n;
  }
  return n;
}

// Lowers the soft open-file limit for one test and puts it back.
class NofileLimit {
 public:
  explicit NofileLimit(rlim_t soft) {
    getrlimit(RLIMIT_NOFILE, &saved_);
    rlimit lower = saved_;
    lower.rlim_cur = soft;
    setrlimit(RLIMIT_NOFILE, &lower);
  }
  ~NofileLimit() { setrlimit(RLIMIT_NOFILE, &saved_); }
  NofileLimit(const NofileLimit&) = delete;
  NofileLimit& operator=(const NofileLimit&) = delete;
  NofileLimit(NofileLimit&&) = delete;
  NofileLimit& operator=(NofileLimit&&) = delete;

 private:
  rlimit saved_{};
};

// Two users open many connections each and keep every one they are allowed: each gets its
// per-user share, the rest are refused at once with a well-formed error, and under an open-file
// limit that only the allowed connections fit in, root is still answered and the state file is
// still saved.
TEST_F(ControlServerTest, GroupMembersHoldingEveryAllowedConnectionLeaveRootAndTheStateFile) {
  const ConnectionLimits limits{
      .control_total = 4, .control_per_uid = 2, .control_root = 2, .metrics_total = 1};
  start(30, limits, uidFromBoundPath);
  constexpr int kEach = 20;
  // Every client end stays open (the test holds them); the server may hold only the 4 allowed.
  // Root's client and its server end, the state file and its directory, and some slack.
  const NofileLimit nofile(static_cast<rlim_t>(openDescriptors() + 2 * kEach + 4 + 2 + 2 + 8));
  std::vector<std::unique_ptr<RawClient>> held;
  for (const int uid : {1000, 1001}) {
    for (int k = 0; k < kEach; ++k) {
      const std::string self =
          (dir / ("uid-" + std::to_string(uid) + "-" + std::to_string(k))).string();
      held.push_back(std::make_unique<RawClient>(path, self, 2));
      ASSERT_TRUE(held.back()->connected()) << "uid " << uid << " connection " << k;
      if (k < limits.control_per_uid) {
        continue;  // allowed: held open
      }
      auto refused = control::parseResponse(held.back()->line());
      ASSERT_TRUE(refused.ok()) << "uid " << uid << " connection " << k << " got no answer";
      EXPECT_EQ(refused->result, control::ResultCode::kError);
      EXPECT_EQ(refused->text,
                uid == 1000 ? "too many connections from uid 1000: 2 open (at most 2 per user)"
                            : "too many connections: 4 open (at most 4)");
      EXPECT_EQ(held.back()->line(), "");  // closed at once
    }
  }
  EXPECT_EQ(server->connections(), 4);
  RawClient another(path, (dir / "uid-1002-0").string(), 2);
  EXPECT_EQ(control::parseResponse(another.line())->text,
            "too many connections: 4 open (at most 4)");

  RawClient root(path, (dir / "uid-0-0").string(), 2);
  ASSERT_TRUE(root.connected());
  ASSERT_TRUE(root.send("{\"command\":\"status\"}\n"));
  EXPECT_EQ(root.line(), R"({"arguments":{},"result":0,"text":"status"})");
  EXPECT_EQ(last_peer_uid, 0);

  const StateStore store(dir.string());
  const Status saved = store.save(PersistedState{});
  EXPECT_TRUE(saved.ok()) << saved.error().message;

  // A user's slot is free again once it closes one (then 3 users' and root's are open).
  held.front().reset();
  for (int i = 0; i < 200 && server->connections() != 4; ++i) {
    std::this_thread::sleep_for(5ms);
  }
  RawClient again(path, (dir / "uid-1000-again").string(), 2);
  ASSERT_TRUE(again.send("{\"command\":\"status\"}\n"));
  EXPECT_EQ(again.line(), R"({"arguments":{},"result":0,"text":"status"})");
}

// Many clients at once, well-behaved and not: every good request is answered correctly, and the
// tick timer on the same io_context never falls behind.
TEST_F(ControlServerTest, ManyClientsAndGarbageDoNotDelayTheTick) {
  // 32 clients of one uid: the per-user limit raised so a non-root test user is not held to 8.
  start(0.5,
        ConnectionLimits{
            .control_total = 64, .control_per_uid = 64, .control_root = 8, .metrics_total = 16});
  constexpr int kGood = 24;
  constexpr int kRequestsEach = 50;
  std::atomic<int> good_answers{0};
  std::atomic<int> wrong{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < kGood; ++i) {
    clients.emplace_back([&, i] {
      ctl::Client client(path, 5000ms);
      for (int k = 0; k < kRequestsEach; ++k) {
        const std::string name = "c" + std::to_string(i) + "-" + std::to_string(k);
        auto r = client.call(control::Request{.command = name, .arguments = {{"k", k}}});
        if (r && r->result == control::ResultCode::kOk && r->text == name &&
            r->arguments["k"] == k) {
          ++good_answers;
        } else {
          ++wrong;
        }
      }
    });
  }
  std::atomic<int> garbage_errors{0};
  for (int i = 0; i < 8; ++i) {
    clients.emplace_back([&, i] {
      RawClient c(path);
      switch (i % 4) {
        case 0:  // binary noise with newlines
          for (int k = 0; k < 20; ++k) {
            std::string noise(200, static_cast<char>(k * 37 + 1));
            noise += '\n';
            c.send(noise);
            if (control::parseResponse(c.line()).ok()) {
              ++garbage_errors;
            }
          }
          break;
        case 1:  // a huge line, sent slowly in pieces
          for (int k = 0; k < 70 && c.send(std::string(1024, '{')); ++k) {
          }
          if (control::parseResponse(c.line()).ok()) {
            ++garbage_errors;
          }
          break;
        case 2:  // connects and never says anything: the idle timeout answers
          if (control::parseResponse(c.line()).ok()) {
            ++garbage_errors;
          }
          break;
        default:  // JSON of the wrong shape
          c.send("[1,2,3]\n{\"command\": 5}\n\"str\"\n");
          for (int k = 0; k < 3; ++k) {
            if (control::parseResponse(c.line()).ok()) {
              ++garbage_errors;
            }
          }
          break;
      }
    });
  }
  for (auto& t : clients) {
    t.join();
  }
  EXPECT_EQ(good_answers, kGood * kRequestsEach);
  EXPECT_EQ(wrong, 0);
  EXPECT_EQ(garbage_errors, 2 * 20 + 2 * 1 + 2 * 1 + 2 * 3);
  EXPECT_GT(ticks, 5);
  // A tick may be late by scheduling noise on a shared 2-core machine, never by a client.
  EXPECT_LT(max_lateness_ns, std::chrono::nanoseconds(50ms).count())
      << "max tick lateness " << max_lateness_ns / 1000 << " us over " << ticks << " ticks";
  std::printf("control socket: %d requests from %d clients, %lld ticks, max lateness %.2f ms\n",
              kGood * kRequestsEach, kGood, static_cast<long long>(ticks.load()),
              static_cast<double>(max_lateness_ns) / 1e6);
}

}  // namespace
}  // namespace balloond
