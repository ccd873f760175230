// SPDX-License-Identifier: Apache-2.0
#include "daemon/libvirt/channel.h"

#include <gtest/gtest.h>
#include <libvirt/libvirt.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "daemon/compile.h"
#include "daemon/controller.h"
#include "tests/daemon/libvirt/fake_api.h"

namespace balloond {
namespace {

using namespace std::chrono_literals;
using testing::FakeLibvirtApi;
using testing::Gate;
using Journal = std::vector<std::string>;

constexpr int64_t kMib = 1024;  // KiB

// The fake answers at once, so these bounds are never reached: read() always sees its own read.
constexpr LibvirtWaits kPatient{.read = 60s, .stop = 60s};
// For a libvirtd the test holds at a gate: read() gives up at once and the destructor soon. A
// test that reads with these keeps the stats gate closed whenever it calls read(), so what
// read() returns never depends on timing: the held read cannot finish, the released one has
// finished (waitIdle) before the next read() starts another.
constexpr LibvirtWaits kHasty{.read = 10ms, .stop = 10ms};

// The channel on its worker thread, with the fake API made slow by gates the test opens.
class LibvirtChannelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    spdlog::set_level(spdlog::level::off);
    auto owned = std::make_unique<FakeLibvirtApi>();
    api = owned.get();
    journal = api->journal;
    stats_gate = api->stats_gate;
    push_gate = api->push_gate;
    gone = api->gone;
    spec.uri = "qemu:///system";
    spec.stats_period_s = 2;
    spec.reconnect_max_s = 4;
    owned_api = std::move(owned);
  }
  void TearDown() override {
    stats_gate->open();
    push_gate->open();
    channel_.reset();
    owned_api.reset();
    EXPECT_TRUE(gone->waitArrivals(1)) << "the fake API was never destroyed";
  }
  LibvirtChannel& channel(LibvirtWaits waits = kPatient) {
    if (!channel_) {
      channel_ = std::make_unique<LibvirtChannel>(
          std::move(owned_api), spec, [this] { return now; }, waits);
    }
    return *channel_;
  }
  // Lets the worker run what is queued, with the stats gate open; closes it again after.
  void release() {
    stats_gate->open();
    ASSERT_TRUE(channel().waitIdle(30s));
    stats_gate->close();
  }
  static int count(const Journal& j, const std::string& entry) {
    return static_cast<int>(std::count(j.begin(), j.end(), entry));
  }
  static Controller makeController(Channel& channel) {
    config::Config c;
    c.policy.name = "margin";
    c.policy.params["peak_window_s"] = 0;  // the rule alone, from the first report
    c.default_floor_mib = 256;
    auto compiled = compile(c);
    EXPECT_TRUE(compiled.ok());
    return {channel, std::move(compiled->policy), std::move(compiled->settings)};
  }

  double now = 1000;
  config::LibvirtSpec spec;
  FakeLibvirtApi* api = nullptr;  // valid while the channel lives
  std::shared_ptr<Journal> journal;
  std::shared_ptr<Gate> stats_gate;
  std::shared_ptr<Gate> push_gate;
  std::shared_ptr<Gate> gone;
  std::unique_ptr<FakeLibvirtApi> owned_api;
  std::unique_ptr<LibvirtChannel> channel_;
};

TEST_F(LibvirtChannelTest, AReadThatFinishesInTimeIsThisTicksSnapshot) {
  api->add("web", 4096, 3072, 1500, now);
  auto snap = channel().read();
  ASSERT_TRUE(snap.ok()) << snap.error().message;
  EXPECT_EQ(snap->time_s, now);
  ASSERT_EQ(snap->vms.size(), 1U);
  EXPECT_EQ(snap->vms[0].actual_kib, 3072 * kMib);
  EXPECT_TRUE(snap->vms[0].unread_reason.empty());
  EXPECT_EQ(*journal, (Journal{"open", "stats"}));
}

TEST_F(LibvirtChannelTest, AHungReadIsNotStartedTwiceAndTheLastSnapshotStandsUnread) {
  api->add("web", 4096, 3072, 1500, now);
  stats_gate->close();

  // Nothing read yet and the first read held: the tick fails, as when libvirtd is away.
  EXPECT_FALSE(channel(kHasty).read().ok());
  ASSERT_TRUE(stats_gate->waitArrivals(1));
  now += 5;
  auto still = channel().read();
  ASSERT_FALSE(still.ok());
  EXPECT_EQ(still.error().message, "libvirt: stats call running for 5 s");

  // It finishes between ticks: the next read() returns it, fresh, and starts the next one.
  release();
  EXPECT_EQ(count(*journal, "stats"), 1) << "the held read was not started a second time";
  now += 1;
  auto late = channel().read();
  ASSERT_TRUE(late.ok()) << late.error().message;
  EXPECT_EQ(late->time_s, now) << "stamped with this tick's time";
  ASSERT_EQ(late->vms.size(), 1U);
  EXPECT_TRUE(late->vms[0].unread_reason.empty());

  // That one hangs: the last snapshot again, every VM marked unread, and no third call.
  ASSERT_TRUE(stats_gate->waitArrivals(2));
  for (int i = 1; i <= 3; ++i) {
    now += 10;
    auto held = channel().read();
    ASSERT_TRUE(held.ok()) << held.error().message;
    EXPECT_EQ(held->time_s, now);
    ASSERT_EQ(held->vms.size(), 1U);
    EXPECT_EQ(held->vms[0].actual_kib, 3072 * kMib) << "the last numbers";
    EXPECT_EQ(held->vms[0].unread_reason,
              "libvirt stats call running for " + std::to_string(10 * i) + " s");
  }
  release();
  EXPECT_EQ(count(*journal, "stats"), 2);
  api->domains["web"].values["balloon.current"] = 2048 * kMib;
  auto fresh = channel().read();
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(fresh->vms[0].actual_kib, 3072 * kMib) << "the read that finished, as it saw it";
  EXPECT_TRUE(fresh->vms[0].unread_reason.empty());
}

TEST_F(LibvirtChannelTest, PushesQueueInOrderBehindAHungRead) {
  api->add("a", 2048, 2048, 1500, now);
  api->add("b", 2048, 2048, 1500, now);
  stats_gate->close();
  EXPECT_FALSE(channel(kHasty).read().ok());
  ASSERT_TRUE(stats_gate->waitArrivals(1));

  EXPECT_TRUE(channel().push("a", 1536 * kMib).ok()) << "queued, not waited for";
  EXPECT_TRUE(channel().push("b", 1024 * kMib).ok());
  EXPECT_TRUE(channel().push("a", 1280 * kMib).ok());
  EXPECT_EQ(*journal, (Journal{"open", "stats"})) << "nothing passes the held call";

  release();
  EXPECT_EQ(*journal, (Journal{"open", "stats", "set-memory a " + std::to_string(1536 * kMib),
                               "set-memory b " + std::to_string(1024 * kMib),
                               "set-memory a " + std::to_string(1280 * kMib)}));
  EXPECT_TRUE(channel().takeFailedPushes().empty());
}

TEST_F(LibvirtChannelTest, AReadWaitsBehindAHungPushAndSaysSo) {
  api->add("a", 2048, 2048, 1500, now);
  stats_gate->close();
  EXPECT_FALSE(channel(kHasty).read().ok());
  release();
  ASSERT_TRUE(channel().read().ok());  // the released read; it starts the next one
  release();
  push_gate->close();
  ASSERT_TRUE(channel().push("a", 1024 * kMib).ok());
  ASSERT_TRUE(push_gate->waitArrivals(1));
  auto finished = channel().read();  // the one released above; the next waits behind the push
  ASSERT_TRUE(finished.ok()) << finished.error().message;
  EXPECT_TRUE(finished->vms[0].unread_reason.empty());
  now += 3;
  auto held = channel().read();
  ASSERT_TRUE(held.ok());
  EXPECT_EQ(held->vms[0].unread_reason,
            "libvirt stats call waiting for 3 s behind a set-memory call for a");
}

TEST_F(LibvirtChannelTest, APushThatFailsOnTheWorkerIsReportedOnce) {
  api->add("bad", 2048, 2048, 1500, now);
  api->add("good", 2048, 2048, 1500, now);
  api->push_fails.insert("bad");
  ASSERT_TRUE(channel().read().ok());
  EXPECT_TRUE(channel().push("bad", 1024 * kMib).ok()) << "a request: its outcome comes later";
  EXPECT_TRUE(channel().push("good", 1024 * kMib).ok());
  ASSERT_TRUE(channel().waitIdle(30s));
  const auto failed = channel().takeFailedPushes();
  ASSERT_EQ(failed.size(), 1U);
  EXPECT_EQ(failed[0].vm, "bad");
  EXPECT_EQ(failed[0].target_kib, 1024 * kMib);
  EXPECT_EQ(failed[0].error, "libvirt: set memory: internal error: unable to execute QEMU command");
  EXPECT_TRUE(channel().takeFailedPushes().empty());
  EXPECT_EQ(api->pushes, (std::vector<std::pair<std::string, int64_t>>{{"good", 1024 * kMib}}));
}

// With the controller: the failed VM is counted and its target tried again, as when a push
// failed at once; the others are not held up.
TEST_F(LibvirtChannelTest, TheControllerCountsALateFailureAndTriesAgain) {
  api->add("bad", 2048, 2048, 1800, now);
  api->add("good", 2048, 2048, 1800, now);
  api->push_fails.insert("bad");
  Controller controller = makeController(channel());
  TickReport r = controller.tick();
  ASSERT_FALSE(r.error) << *r.error;
  ASSERT_EQ(r.changes.size(), 2U) << "both requested";
  ASSERT_EQ(r.changes[0].vm, "bad");
  ASSERT_TRUE(channel().waitIdle(30s));
  const std::string bad_push = "set-memory bad " + std::to_string(r.changes[0].to_kib);

  now += 1;
  r = controller.tick();
  ASSERT_FALSE(r.error) << *r.error;
  EXPECT_EQ(r.push_failures, 1);
  EXPECT_EQ(r.failed_pushes, std::vector<std::string>{"bad"});
  ASSERT_TRUE(channel().waitIdle(30s));
  EXPECT_EQ(count(*journal, bad_push), 2) << "tried again this tick";
  EXPECT_EQ(api->pushes.front().first, "good") << "not held up";
}

// With the controller: a held read leaves every VM stale; nothing is decided or pushed for them.
TEST_F(LibvirtChannelTest, WhileAReadHangsTheControllerPushesNothing) {
  api->add("idle", 4096, 4096, 3800, now);
  stats_gate->close();
  Controller controller = makeController(channel(kHasty));
  EXPECT_TRUE(controller.tick().error);
  release();
  now += 1;
  TickReport r = controller.tick();  // the released read, fresh: a target
  ASSERT_FALSE(r.error) << *r.error;
  ASSERT_EQ(r.changes.size(), 1U);
  ASSERT_TRUE(stats_gate->waitArrivals(2));

  now += 1;
  r = controller.tick();  // the next read is held
  ASSERT_FALSE(r.error) << *r.error;
  EXPECT_TRUE(r.changes.empty());
  ASSERT_EQ(controller.status().size(), 1U);
  EXPECT_EQ(controller.status()[0].state, policy::AckState::kStale);
  EXPECT_EQ(controller.status()[0].state_reason,
            "not read this tick: libvirt stats call running for 1 s");
  release();
  EXPECT_EQ(count(*journal, "stats"), 2);
}

TEST_F(LibvirtChannelTest, DestructionLetsQueuedPushesRunThenCloses) {
  api->add("a", 2048, 2048, 1500, now);
  ASSERT_TRUE(channel().read().ok());
  ASSERT_TRUE(channel().push("a", 1024 * kMib).ok());
  ASSERT_TRUE(channel().push("a", 1536 * kMib).ok());
  channel_.reset();
  EXPECT_EQ(gone->arrivals(), 1) << "joined: the API went with the channel";
  EXPECT_EQ(*journal, (Journal{"open", "stats", "set-memory a " + std::to_string(1024 * kMib),
                               "set-memory a " + std::to_string(1536 * kMib), "close"}));
}

// A hung call cannot be interrupted: the destructor gives up after its wait, drops what was
// queued behind the call, and leaves the worker to finish it and free the API.
TEST_F(LibvirtChannelTest, DestructionDuringAHungCallDoesNotWaitForIt) {
  api->add("a", 2048, 2048, 1500, now);
  stats_gate->close();
  EXPECT_FALSE(channel(kHasty).read().ok());
  ASSERT_TRUE(stats_gate->waitArrivals(1));
  ASSERT_TRUE(channel().push("a", 1024 * kMib).ok());
  channel_.reset();  // returns: the stats call is still held
  EXPECT_EQ(gone->arrivals(), 0) << "the held call still has the API";

  stats_gate->open();
  ASSERT_TRUE(gone->waitArrivals(1)) << "freed once the call returned";
  EXPECT_EQ(*journal, (Journal{"open", "stats", "close"})) << "the queued push was dropped";
}

// A libvirtd restart must not make VMs vanish and come back as new.
TEST_F(LibvirtChannelTest, ReconnectKeepsTheControllersPerVmHistory) {
  api->add("idle", 4096, 4096, 3800, now);
  Controller controller = makeController(channel());

  TickReport r = controller.tick();
  ASSERT_FALSE(r.error);
  ASSERT_EQ(r.changes.size(), 1U);
  const int64_t target = r.changes[0].to_kib;
  EXPECT_LT(target, 4096 * kMib);
  ASSERT_TRUE(channel().waitIdle(30s));

  // libvirtd dies: the close callback fires, and it stays away for a while.
  api->reachable = false;
  api->events.push_back(
      {.kind = libvirt::Event::Kind::kClosed, .vm = {}, .detail = VIR_CONNECT_CLOSE_REASON_EOF});
  now += 1;
  r = controller.tick();
  ASSERT_TRUE(r.error);
  EXPECT_EQ(*r.error, "libvirt: not connected to qemu:///system, next attempt in 1 s");
  ASSERT_EQ(controller.status().size(), 1U) << "status keeps answering with the last view";
  EXPECT_EQ(controller.status()[0].target_kib, target);

  now += 10;
  api->reachable = true;
  api->domains["idle"].values["balloon.current"] = target;
  api->domains["idle"].values["balloon.last-update"] = static_cast<int64_t>(now);
  r = controller.tick();
  ASSERT_FALSE(r.error) << *r.error;
  ASSERT_TRUE(channel().waitIdle(30s));
  ASSERT_EQ(controller.status().size(), 1U);
  EXPECT_LE(controller.status()[0].target_kib, target);
  EXPECT_NE(controller.status()[0].reason, "initial") << "the VM was not re-added as new";
  EXPECT_EQ(api->opens, 2);
}

TEST_F(LibvirtChannelTest, MinGuaranteeRaisesTheFloor) {
  api->add("g", 4096, 4096, 3800, now).xml =
      "<domain><memtune><min_guarantee unit='KiB'>2097152</min_guarantee></memtune>"
      "<devices><memballoon model='virtio'><stats period='2'/></memballoon></devices></domain>";
  config::Config c;
  c.policy.name = "margin";
  c.policy.params["peak_window_s"] = 0;  // the rule alone, from the first report
  c.default_floor_mib = 256;
  c.guards.inflate_step_mib = 4096;
  auto policy = compile(c);
  ASSERT_TRUE(policy.ok());
  Controller controller(channel(), std::move(policy->policy), std::move(policy->settings));
  controller.tick();
  ASSERT_EQ(controller.status().size(), 1U);
  EXPECT_EQ(controller.status()[0].floor_kib, 2048 * kMib);
  EXPECT_GE(controller.status()[0].target_kib, 2048 * kMib);
}

}  // namespace
}  // namespace balloond
