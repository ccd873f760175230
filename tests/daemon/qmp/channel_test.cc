// SPDX-License-Identifier: Apache-2.0
#include "daemon/qmp/channel.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "tests/daemon/qmp/fake_qemu.h"

namespace balloond {
namespace {

using qmp::LinkState;
using qmp::testing::FakeQemu;
using qmp::testing::runUntil;

constexpr int64_t kMib = 1024;

class QmpChannelTest : public ::testing::Test {
 protected:
  QmpChannelTest()
      : dir_(std::filesystem::path(::testing::TempDir()) /
             ("qmp-chan-" + std::to_string(getpid()))) {
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    channel_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::string path(const std::string& file) const { return (dir_ / file).string(); }

  void open(const std::string& mode = "shared", const std::string& name_from = "qemu") {
    config::QmpSpec spec;
    spec.sockets.push_back(
        {.glob = (dir_ / "*.qmp").string(), .mode = mode, .name_from = name_from});
    spec.deadline_s = 0.2;
    channel_ = std::make_unique<QmpChannel>(io_, spec);
  }

  // One tick: read what the last tick's reads found, then let this tick's reads finish.
  Snapshot tick() {
    auto snap = channel_->read();
    EXPECT_TRUE(snap) << snap.error().message;
    runUntil(io_, [&] {
      for (const auto& [p, link] : channel_->links()) {
        if (link->busy()) {
          return false;
        }
      }
      return true;
    });
    return snap ? *snap : Snapshot{};
  }

  static const VmSample* find(const Snapshot& s, const std::string& name) {
    for (const auto& vm : s.vms) {
      if (vm.name == name) {
        return &vm;
      }
    }
    return nullptr;
  }

  boost::asio::io_context io_;
  std::filesystem::path dir_;
  std::unique_ptr<QmpChannel> channel_;
};

TEST_F(QmpChannelTest, ASharedSocketIsReadInShortSessionsAndLeftFreeBetweenThem) {
  FakeQemu qemu(io_, path("100.qmp"));
  qemu.name = "web";
  open();
  EXPECT_TRUE(tick().vms.empty());  // the first reads land for the next tick
  const Snapshot snap = tick();
  const VmSample* vm = find(snap, "web");
  ASSERT_NE(vm, nullptr);
  EXPECT_EQ(vm->max_kib, 1024 * kMib);
  EXPECT_EQ(vm->actual_kib, 1024 * kMib);
  EXPECT_EQ(vm->guest.available_kib, 600 * kMib);
  EXPECT_EQ(vm->guest.total_kib, 960 * kMib);
  EXPECT_FALSE(vm->guest.swap_out_kib.has_value() && *vm->guest.swap_out_kib != 0);
  EXPECT_DOUBLE_EQ(vm->stats_period_s, 2);
  EXPECT_TRUE(vm->has_balloon);
  EXPECT_TRUE(vm->note.empty());
  EXPECT_TRUE(vm->unread_reason.empty());
  EXPECT_GT(vm->rss_kib.value_or(0), 0);  // the fake QEMU is this test: its own RSS
  EXPECT_GT(snap.host.total_kib, 0);
  EXPECT_FALSE(qemu.hasClient());  // nothing held between ticks
  EXPECT_EQ(qemu.connections, 2);

  ASSERT_TRUE(channel_->push("web", 512 * kMib));
  ASSERT_TRUE(runUntil(io_, [&] { return !qemu.balloon_values.empty(); }));
  EXPECT_EQ(qemu.balloon_values.back(), 512 * FakeQemu::kMiB);
  tick();
  EXPECT_EQ(find(tick(), "web")->actual_kib, 512 * kMib);  // from query-balloon
  EXPECT_FALSE(channel_->push("nobody", 1));
}

TEST_F(QmpChannelTest, ABusySocketMakesItsVmUnreadUntilItIsFree) {
  FakeQemu qemu(io_, path("7.qmp"));
  open();
  tick();
  ASSERT_NE(find(tick(), "vm1"), nullptr);
  // Another client (qm, pvestatd) holds the socket through the whole next session.
  auto other = qmp::Connection::create(io_, path("7.qmp"));
  std::optional<Status> opened;
  other->open([&](const Status& s) { opened = s; });
  ASSERT_TRUE(runUntil(io_, [&] { return opened.has_value(); }));
  tick();
  const Snapshot busy = tick();
  ASSERT_NE(find(busy, "vm1"), nullptr);
  EXPECT_NE(find(busy, "vm1")->unread_reason.find("no answer within 0.2 s"), std::string::npos);
  other->close();
  // The sessions that gave up still sit in QEMU's accept queue, and QEMU greets each in turn
  // before the next connect can queue: a tick or two.
  bool recovered = false;
  for (int i = 0; i < 3 && !recovered; ++i) {
    const Snapshot back = tick();
    recovered = find(back, "vm1") != nullptr && find(back, "vm1")->unread_reason.empty();
  }
  EXPECT_TRUE(recovered);
}

TEST_F(QmpChannelTest, AKilledQemuIsGoneAndARestartedOneIsBack) {
  FakeQemu qemu(io_, path("1.qmp"));
  open();
  tick();
  ASSERT_EQ(tick().vms.size(), 1U);
  qemu.stop();  // the socket file stays: nobody listens
  tick();
  EXPECT_TRUE(tick().vms.empty());
  EXPECT_EQ(channel_->links().at(path("1.qmp"))->state(), LinkState::kGone);
  EXPECT_FALSE(channel_->push("vm1", 256 * kMib));
  qemu.name = "reborn";
  qemu.start();
  tick();
  const Snapshot back = tick();
  ASSERT_EQ(back.vms.size(), 1U);
  EXPECT_EQ(back.vms[0].name, "reborn");  // facts learned again for the new process
  std::filesystem::remove(path("1.qmp"));
  tick();
  EXPECT_TRUE(channel_->links().empty());
}

TEST_F(QmpChannelTest, MisbehavingQemusCostOnlyTheirOwnVm) {
  FakeQemu good(io_, path("good.qmp"));
  good.name = "good";
  FakeQemu silent(io_, path("silent.qmp"));
  silent.mode = FakeQemu::Mode::kSilent;
  FakeQemu garbage(io_, path("garbage.qmp"));
  garbage.mode = FakeQemu::Mode::kGarbage;
  FakeQemu cut(io_, path("cut.qmp"));
  cut.mode = FakeQemu::Mode::kCloseMidReply;
  open();
  tick();
  const Snapshot snap = tick();
  ASSERT_EQ(snap.vms.size(), 1U);
  EXPECT_EQ(snap.vms[0].name, "good");
  for (const char* bad : {"silent.qmp", "garbage.qmp", "cut.qmp"}) {
    EXPECT_EQ(channel_->links().at(path(bad))->state(), LinkState::kProbing) << bad;
  }
}

TEST_F(QmpChannelTest, FindsAnAnonymousBalloonAndReportsAMissingOne) {
  FakeQemu anon(io_, path("anon.qmp"));
  anon.name = "anon";
  anon.balloon_parent = "/machine/peripheral-anon";
  anon.balloon_id = "device[0]";
  FakeQemu none(io_, path("none.qmp"));
  none.name = "none";
  none.balloon_parent = "";
  open();
  tick();
  const Snapshot snap = tick();
  ASSERT_NE(find(snap, "anon"), nullptr);
  EXPECT_TRUE(find(snap, "anon")->has_balloon);
  EXPECT_EQ(find(snap, "anon")->guest.available_kib, 600 * kMib);
  ASSERT_NE(find(snap, "none"), nullptr);
  EXPECT_FALSE(find(snap, "none")->has_balloon);
  EXPECT_EQ(find(snap, "none")->note, "no-balloon-device");
  EXPECT_EQ(find(snap, "none")->actual_kib, 1024 * kMib);
}

TEST_F(QmpChannelTest, TurnsStatsPollingOnWhereItIsOff) {
  FakeQemu qemu(io_, path("p.qmp"));
  qemu.polling_s = 0;
  open();
  tick();
  tick();
  EXPECT_EQ(qemu.polling_s, 2U);
  EXPECT_DOUBLE_EQ(tick().vms.at(0).stats_period_s, 2);
}

TEST_F(QmpChannelTest, TurnsStatsPollingOnAgainForARestartedQemu) {
  FakeQemu qemu(io_, path("p.qmp"));
  qemu.polling_s = 0;
  open();
  tick();
  tick();
  ASSERT_EQ(qemu.polling_s, 2U);
  qemu.stop();  // killed: a new QEMU process starts with the guest's stats off again
  tick();
  tick();
  qemu.polling_s = 0;
  qemu.start();
  tick();
  tick();
  EXPECT_EQ(qemu.polling_s, 2U);
  EXPECT_DOUBLE_EQ(tick().vms.at(0).stats_period_s, 2);
}

TEST_F(QmpChannelTest, NamesComeFromQemuOrTheSocketAndDuplicatesAreLeftOut) {
  FakeQemu a(io_, path("101.qmp"));
  FakeQemu b(io_, path("102.qmp"));  // both say "vm1"
  FakeQemu unnamed(io_, path("103.qmp"));
  unnamed.name = "";
  open();
  tick();
  Snapshot snap = tick();
  EXPECT_EQ(snap.vms.size(), 2U);
  EXPECT_NE(find(snap, "vm1"), nullptr);
  EXPECT_NE(find(snap, "103"), nullptr);

  open("shared", "socket");
  tick();
  snap = tick();
  EXPECT_EQ(snap.vms.size(), 3U);
  EXPECT_NE(find(snap, "101"), nullptr);
  EXPECT_NE(find(snap, "102"), nullptr);
}

TEST_F(QmpChannelTest, AnExclusiveSocketStaysOpenHearsEventsAndReconnects) {
  FakeQemu qemu(io_, path("x.qmp"));
  open("exclusive");
  tick();
  tick();
  tick();
  EXPECT_EQ(qemu.connections, 1);
  EXPECT_TRUE(qemu.hasClient());
  ASSERT_TRUE(channel_->push("vm1", 300 * kMib));
  ASSERT_TRUE(runUntil(io_, [&] { return !qemu.balloon_values.empty(); }));
  // The event alone moves actual, before any read.
  ASSERT_TRUE(runUntil(
      io_, [&] { return channel_->links().at(path("x.qmp"))->sample().actual_kib == 300 * kMib; }));
  EXPECT_GE(channel_->links().at(path("x.qmp"))->events(), 1);

  qemu.stop();
  qemu.start();  // QEMU restarted on the same path
  tick();
  ASSERT_TRUE(runUntil(io_, [&] { return qemu.connections == 2; }));
  tick();
  EXPECT_EQ(tick().vms.size(), 1U);
}

}  // namespace
}  // namespace balloond
