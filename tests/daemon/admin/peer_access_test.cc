// SPDX-License-Identifier: Apache-2.0
#include "daemon/admin/peer_access.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace balloond {
namespace {

// The tests chown files, so they need root (as the daemon is); they skip otherwise.
class PeerAccessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) {
      GTEST_SKIP() << "needs root to chown test files";
    }
    dir = std::filesystem::path(::testing::TempDir()) /
          ("balloond-peer-access-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir / "sub");
    chmod(dir.c_str(), 0755);
    chmod((dir / "sub").c_str(), 0755);
    file = (dir / "sub" / "f.yaml").string();
    std::ofstream(file) << "tick_s: 1\n";
    ASSERT_EQ(chown(file.c_str(), 0, 0), 0);
  }
  void TearDown() override { std::filesystem::remove_all(dir); }

  Status check(const Peer& peer, const std::vector<gid_t>& groups) {
    const int fd = open(file.c_str(), O_RDONLY | O_CLOEXEC);
    auto s = peerMayRead(peer, groups, fd, file);
    close(fd);
    return s;
  }

  std::filesystem::path dir;
  std::string file;
  const Peer alice{.uid = 1000, .gid = 1000, .pid = 1, .admin = true};
};

TEST_F(PeerAccessTest, ModeBitsForOwnerGroupAndOther) {
  chmod(file.c_str(), 0600);
  EXPECT_TRUE(check(Peer{.uid = 0, .gid = 0, .pid = 1, .admin = true}, {0}).ok());
  auto refused = check(alice, {1000});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().message,
            file +
                ": uid 1000 may not read this file (config-test reads a file only for a user "
                "who could read it)");
  ASSERT_EQ(chown(file.c_str(), 1000, 0), 0);
  EXPECT_TRUE(check(alice, {1000}).ok());
  ASSERT_EQ(chown(file.c_str(), 0, 50), 0);
  chmod(file.c_str(), 0640);
  EXPECT_FALSE(check(alice, {1000}).ok());
  EXPECT_TRUE(check(alice, {1000, 50}).ok());
  chmod(file.c_str(), 0604);
  EXPECT_FALSE(check(alice, {1000, 50}).ok());  // the group bits apply to a member, not other's
  EXPECT_TRUE(check(alice, {1000}).ok());
  EXPECT_FALSE(check(Peer{}, {}).ok());  // credentials unknown
}

TEST_F(PeerAccessTest, EveryDirectoryAboveMustBeSearchable) {
  chmod(file.c_str(), 0644);
  EXPECT_TRUE(check(alice, {1000}).ok());
  chmod((dir / "sub").c_str(), 0700);
  EXPECT_FALSE(check(alice, {1000}).ok());
  chmod((dir / "sub").c_str(), 0755);
}

TEST(RedactedForPeer, KeepsThePositionAndKnownKeysOnly) {
  EXPECT_EQ(redactedForPeer("f.yaml:3:9: guards.inflate_step_mib: must be between 1 and 4096, "
                            "got 0",
                            "f.yaml"),
            "f.yaml:3:9: guards.inflate_step_mib: must be between 1 and 4096, got 0");
  EXPECT_EQ(redactedForPeer("f.yaml:1:1: hunter2: unknown key (known: a, b)", "f.yaml"),
            "f.yaml:1:1: ...: unknown key (known: a, b)");
  EXPECT_EQ(redactedForPeer("f.yaml:1:1: expected a map, got 'root:x:0'", "f.yaml"),
            "f.yaml:1:1: expected a map, got '...'");
  EXPECT_EQ(redactedForPeer("f.yaml:2:3: syntax error: end of map not found", "f.yaml"),
            "f.yaml:2:3: syntax error: end of map not found");
  EXPECT_EQ(redactedForPeer("f.yaml:2:3: vms[4].floor_mib: expected a number, got 'x'", "f.yaml"),
            "f.yaml:2:3: vms[4].floor_mib: expected a number, got '...'");
}

TEST(WithoutQuotes, ReplacesEveryQuotedPart) {
  EXPECT_EQ(withoutQuotes("f:1:1: expected a map, got 'root:x:0'"),
            "f:1:1: expected a map, got '...'");
  EXPECT_EQ(withoutQuotes(R"(a "b" c 'd' e)"), R"(a "..." c '...' e)");
  EXPECT_EQ(withoutQuotes("cut 'short"), "cut '...");
  EXPECT_EQ(withoutQuotes("plain"), "plain");
}

}  // namespace
}  // namespace balloond
