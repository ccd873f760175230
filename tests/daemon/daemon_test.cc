// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "daemon/daemon.h"

namespace balloond {
namespace {

namespace fs = std::filesystem;

// A peer that goes away mid-conversation (libvirtd killed while balloond talks to it) must not
// take the daemon down: with SIGPIPE at its default action, the next write() to that socket
// kills the process silently.
TEST(DaemonSignalsTest, AWriteToAClosedPeerFailsWithEpipeInsteadOfKillingTheDaemon) {
  spdlog::set_level(spdlog::level::warn);
  std::string tmpl = (fs::temp_directory_path() / "balloond-signals-XXXXXX").string();
  const std::string dir = mkdtemp(tmpl.data());
  std::signal(SIGPIPE, SIG_DFL);

  config::Config c;
  c.policy.name = "margin";
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

}  // namespace
}  // namespace balloond
