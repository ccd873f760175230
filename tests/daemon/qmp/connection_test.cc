// SPDX-License-Identifier: Apache-2.0
#include "daemon/qmp/connection.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "tests/daemon/qmp/fake_qemu.h"

namespace balloond::qmp {
namespace {

using testing::FakeQemu;
using testing::runUntil;
using json = nlohmann::json;

class QmpConnectionTest : public ::testing::Test {
 protected:
  QmpConnectionTest()
      : dir_(std::filesystem::path(::testing::TempDir()) /
             ("qmp-conn-" + std::to_string(getpid()))) {
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string path(const std::string& file) const { return (dir_ / file).string(); }

  // Opens a connection and waits for its answer.
  std::shared_ptr<Connection> open(const std::string& socket, std::optional<Status>& result) {
    auto c = Connection::create(io_, socket);
    c->open([&result](const Status& s) { result = s; });
    runUntil(io_, [&] { return result.has_value(); });
    return c;
  }

  boost::asio::io_context io_;
  std::filesystem::path dir_;
};

TEST_F(QmpConnectionTest, NegotiatesThenPipelinesCommands) {
  FakeQemu qemu(io_, path("a.qmp"));
  std::optional<Status> opened;
  auto c = open(path("a.qmp"), opened);
  ASSERT_TRUE(opened && *opened) << opened->error().message;
  EXPECT_EQ(c->peerPid(), getpid());
  std::optional<Result<json>> name;
  std::optional<Result<json>> balloon;
  std::optional<Result<json>> unknown;
  c->execute("query-name", json(), [&](const Result<json>& r) { name = r; });
  c->execute("query-balloon", json(), [&](const Result<json>& r) { balloon = r; });
  c->execute("no-such-thing", json(), [&](const Result<json>& r) { unknown = r; });
  ASSERT_TRUE(runUntil(io_, [&] { return name && balloon && unknown; }));
  EXPECT_EQ((**name)["name"], "vm1");
  EXPECT_EQ((**balloon)["actual"], 1024 * FakeQemu::kMiB);
  ASSERT_FALSE(*unknown);
  EXPECT_EQ(unknown->error().message.rfind("CommandNotFound", 0), 0U);
  EXPECT_EQ(qemu.commands.front(), "qmp_capabilities");
}

TEST_F(QmpConnectionTest, NobodyListeningIsRefused) {
  { FakeQemu qemu(io_, path("gone.qmp")); }  // the file stays, like after a SIGKILL
  std::optional<Status> opened;
  auto c = open(path("gone.qmp"), opened);
  ASSERT_TRUE(opened);
  EXPECT_FALSE(*opened);
  EXPECT_TRUE(c->refused());
  std::optional<Status> missing;
  auto m = open(path("never.qmp"), missing);
  ASSERT_TRUE(missing);
  EXPECT_FALSE(*missing);
  EXPECT_TRUE(m->refused());
}

TEST_F(QmpConnectionTest, ASilentQemuIsTheOwnersToCloseAndEveryWaiterHearsOfIt) {
  FakeQemu qemu(io_, path("s.qmp"));
  qemu.mode = FakeQemu::Mode::kSilent;
  auto c = Connection::create(io_, path("s.qmp"));
  std::optional<Status> opened;
  c->open([&](const Status& s) { opened = s; });
  EXPECT_FALSE(runUntil(
      io_, [&] { return opened.has_value(); }, std::chrono::milliseconds(100)));
  bool ended = false;
  c->onEnd([&](const Error&) { ended = true; });
  c->close();
  EXPECT_FALSE(opened);  // answered from the io_context, not inside close()
  ASSERT_TRUE(runUntil(io_, [&] { return opened.has_value(); }));
  EXPECT_FALSE(*opened);
  EXPECT_FALSE(ended);  // closed by its owner: no end callback
}

TEST_F(QmpConnectionTest, GarbageEndsTheConversation) {
  FakeQemu qemu(io_, path("g.qmp"));
  qemu.mode = FakeQemu::Mode::kGarbage;
  std::optional<Status> opened;
  auto c = open(path("g.qmp"), opened);
  ASSERT_TRUE(opened && *opened);
  std::optional<Result<json>> reply;
  std::optional<Error> ended;
  c->onEnd([&](const Error& e) { ended = e; });
  c->execute("query-balloon", json(), [&](const Result<json>& r) { reply = r; });
  ASSERT_TRUE(runUntil(io_, [&] { return reply && ended; }));
  EXPECT_FALSE(*reply);
  EXPECT_NE(ended->message.find("malformed JSON"), std::string::npos) << ended->message;
  EXPECT_FALSE(c->isOpen());
}

TEST_F(QmpConnectionTest, AReplyCutShortEndsTheConversation) {
  FakeQemu qemu(io_, path("c.qmp"));
  qemu.mode = FakeQemu::Mode::kCloseMidReply;
  std::optional<Status> opened;
  auto c = open(path("c.qmp"), opened);
  ASSERT_TRUE(opened && *opened);
  std::optional<Result<json>> reply;
  std::optional<Error> ended;
  c->onEnd([&](const Error& e) { ended = e; });
  c->execute("query-balloon", json(), [&](const Result<json>& r) { reply = r; });
  ASSERT_TRUE(runUntil(io_, [&] { return reply && ended; }));
  EXPECT_FALSE(*reply);
  EXPECT_NE(ended->message.find("closed the socket"), std::string::npos) << ended->message;
}

TEST_F(QmpConnectionTest, EventsReachTheirHandler) {
  FakeQemu qemu(io_, path("e.qmp"));
  std::optional<Status> opened;
  auto c = open(path("e.qmp"), opened);
  ASSERT_TRUE(opened && *opened);
  std::vector<std::string> events;
  c->onEvent([&](const Message& m) { events.push_back(m.name); });
  std::optional<Result<json>> pushed;
  c->execute("balloon", json{{"value", 512 * FakeQemu::kMiB}},
             [&](const Result<json>& r) { pushed = r; });
  ASSERT_TRUE(runUntil(io_, [&] { return pushed && !events.empty(); }));
  EXPECT_EQ(events, std::vector<std::string>{"BALLOON_CHANGE"});
}

TEST_F(QmpConnectionTest, ASecondClientWaitsForTheFirstToLeave) {
  FakeQemu qemu(io_, path("one.qmp"));
  std::optional<Status> first;
  auto a = open(path("one.qmp"), first);
  ASSERT_TRUE(first && *first);
  auto b = Connection::create(io_, path("one.qmp"));
  std::optional<Status> second;
  b->open([&](const Status& s) { second = s; });
  EXPECT_FALSE(runUntil(
      io_, [&] { return second.has_value(); }, std::chrono::milliseconds(100)));
  a->close();
  ASSERT_TRUE(runUntil(io_, [&] { return second.has_value(); }));
  EXPECT_TRUE(*second);
}

}  // namespace
}  // namespace balloond::qmp
