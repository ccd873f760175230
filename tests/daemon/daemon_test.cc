// SPDX-License-Identifier: Apache-2.0
#include "daemon/daemon.h"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ctl/client.h"
#include "daemon/libvirt/channel.h"
#include "tests/daemon/libvirt/fake_api.h"

namespace balloond {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// A service manager that records what the daemon tells it, with a watchdog armed.
class FakeNotifier : public Notifier {
 public:
  void send(const std::string& state) override {
    const std::lock_guard lock(mutex_);
    sent_.push_back(state);
    changed_.notify_all();
  }
  std::optional<std::chrono::microseconds> watchdogInterval() const override { return 2s; }

  // How many messages contained `what` so far.
  int count(const std::string& what) const {
    const std::lock_guard lock(mutex_);
    return countLocked(what);
  }
  // Waits until `n` messages contained `what`. Bounded, so a broken test fails instead of hanging.
  bool waitFor(const std::string& what, int n) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, 30s, [&] { return countLocked(what) >= n; });
  }

 private:
  int countLocked(const std::string& what) const {
    int n = 0;
    for (const auto& s : sent_) {
      n += s.find(what) != std::string::npos ? 1 : 0;
    }
    return n;
  }
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> sent_;
};

std::string tempDir(const char* name) {
  std::string tmpl = (fs::temp_directory_path() / (std::string(name) + "-XXXXXX")).string();
  return mkdtemp(tmpl.data());
}

// A peer that goes away mid-conversation (libvirtd killed while balloond talks to it) must not
// take the daemon down: with SIGPIPE at its default action, the next write() to that socket
// kills the process silently.
TEST(DaemonSignalsTest, AWriteToAClosedPeerFailsWithEpipeInsteadOfKillingTheDaemon) {
  spdlog::set_level(spdlog::level::warn);
  const std::string dir = tempDir("balloond-signals");
  std::signal(SIGPIPE, SIG_DFL);

  config::Config c;
  c.policy.name = "margin";
  c.policy.params["peak_window_s"] = 0;  // the rule alone, from the first report
  c.channel.type = "sim";
  c.control.socket = dir + "/control.sock";
  auto daemon = Daemon::create(c, DaemonOptions{});
  ASSERT_TRUE(daemon.ok()) << daemon.error().message;

  struct sigaction now {};
  ASSERT_EQ(sigaction(SIGPIPE, nullptr, &now), 0);
  EXPECT_EQ(now.sa_handler, SIG_IGN);

  int fds[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  close(fds[1]);
  errno = 0;
  EXPECT_EQ(write(fds[0], "x", 1), -1);  // still here: the signal was ignored
  EXPECT_EQ(errno, EPIPE);
  close(fds[0]);

  daemon->reset();
  std::error_code ec;
  fs::remove_all(dir, ec);
}

// The daemon on the libvirt channel, with a libvirtd whose stats call hangs (held at a gate for
// as long as the test runs, as a domain job or a hung QEMU holds it for 30 s): the loop goes on.
// The control socket answers and the watchdog is petted every tick, while the held call is still
// held; the daemon also stops without waiting for it.
TEST(DaemonLibvirtTest, AHungStatsCallStallsNeitherTheControlSocketNorTheWatchdog) {
  // The loop waits at most this long for a stats call per tick: what bounds the answer's delay.
  static_assert(LibvirtWaits{}.read < 100ms, "balloonctl status must answer within 100 ms");
  spdlog::set_level(spdlog::level::warn);
  const std::string dir = tempDir("balloond-libvirt-hang");
  auto fake = std::make_unique<testing::FakeLibvirtApi>();
  const double wall =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  fake->add("web", 4096, 4096, 3000, wall);
  const auto gate = fake->stats_gate;
  const auto gone = fake->gone;

  config::Config c;
  c.policy.name = "margin";
  c.policy.params["peak_window_s"] = 0;  // the rule alone, from the first report
  c.tick_s = 0.1;
  c.channel.type = "libvirt";
  c.control.socket = dir + "/control.sock";
  c.state_dir = dir;
  DaemonOptions options;
  auto slot = std::make_shared<std::unique_ptr<libvirt::Api>>(std::move(fake));
  options.libvirt_api = [slot] { return std::move(*slot); };
  auto notifier = std::make_unique<FakeNotifier>();
  FakeNotifier& notes = *notifier;
  auto daemon = Daemon::create(c, options, std::move(notifier));
  ASSERT_TRUE(daemon.ok()) << daemon.error().message;
  int code = -1;
  std::thread loop([&] { code = (*daemon)->run(); });

  ASSERT_TRUE(notes.waitFor("READY=1", 1)) << "a first tick read libvirt";
  gate->close();
  const int passed = gate->arrivals();  // every later stats call is held
  ASSERT_TRUE(gate->waitArrivals(passed + 1));
  const int pets = notes.count("WATCHDOG=1");
  ASSERT_TRUE(notes.waitFor("WATCHDOG=1", pets + 2)) << "ticks go on while the call is held";

  // Requests spread over about two ticks, so some land during a tick. The pause only spreads
  // them; what the test relies on is that each is answered at all.
  ctl::Client client(c.control.socket, 5000ms);
  double slowest_ms = 0;
  for (int i = 0; i < 20; ++i) {
    std::this_thread::sleep_for(10ms);
    const auto asked = std::chrono::steady_clock::now();
    auto answer = client.call(control::Request{.command = "status-get"});
    slowest_ms =
        std::max(slowest_ms,
                 std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - asked)
                     .count());
    ASSERT_TRUE(answer.ok()) << client.lastError().message;
    ASSERT_EQ(answer->result, control::ResultCode::kOk) << answer->text;
    EXPECT_EQ(answer->arguments["vms_by_state"]["stale"], 1) << answer->arguments.dump();
  }
  EXPECT_EQ(gate->arrivals(), passed + 1) << "the held call is still held; none started again";
  ::testing::Test::RecordProperty("slowest_status_ms", std::to_string(slowest_ms));
  std::printf("status-get while the stats call is held: slowest of 20 in %.1f ms\n", slowest_ms);
  const int later = notes.count("WATCHDOG=1");
  EXPECT_TRUE(notes.waitFor("WATCHDOG=1", later + 3)) << "still petted";

  // SIGTERM: the loop ends without waiting for libvirt.
  ASSERT_EQ(kill(getpid(), SIGTERM), 0);
  loop.join();
  EXPECT_EQ(code, 0);
  EXPECT_EQ(gate->arrivals(), passed + 1) << "still held when the daemon's loop ended";
  gate->open();  // the destructor then stops the worker at once
  daemon->reset();
  EXPECT_EQ(gone->arrivals(), 1);
  std::error_code ec;
  fs::remove_all(dir, ec);
}

}  // namespace
}  // namespace balloond
