// SPDX-License-Identifier: Apache-2.0
#include "daemon/libvirt/session.h"

#include <gtest/gtest.h>
#include <libvirt/libvirt.h>
#include <spdlog/spdlog.h>

#include "tests/daemon/libvirt/fake_api.h"

namespace balloond::libvirt {
namespace {

using testing::FakeLibvirtApi;

constexpr int64_t kMib = 1024;  // KiB

// The session alone, on the test's thread: what it makes of libvirt's answers.
class LibvirtSessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    spdlog::set_level(spdlog::level::off);
    auto owned = std::make_unique<FakeLibvirtApi>();
    api = owned.get();
    spec.uri = "qemu:///system";
    spec.stats_period_s = 2;
    spec.reconnect_max_s = 4;
    owned_api = std::move(owned);
  }
  Session& session() {
    if (!session_) {
      session_ = std::make_unique<Session>(std::move(owned_api), spec);
    }
    return *session_;
  }
  Snapshot read() {
    auto snap = session().read(now);
    EXPECT_TRUE(snap.ok()) << (snap.ok() ? "" : snap.error().message);
    return snap.ok() ? *snap : Snapshot{};
  }
  static const VmSample* find(const Snapshot& s, const std::string& name) {
    for (const auto& vm : s.vms) {
      if (vm.name == name) {
        return &vm;
      }
    }
    return nullptr;
  }

  double now = 1000;
  config::LibvirtSpec spec;
  FakeLibvirtApi* api = nullptr;
  std::unique_ptr<FakeLibvirtApi> owned_api;
  std::unique_ptr<Session> session_;
};

TEST_F(LibvirtSessionTest, OneBulkStatsCallPerReadMapsBalloonFields) {
  auto& d = api->add("web", 4096, 3072, 1500, now);
  d.values["balloon.rss"] = 3100 * kMib;
  d.values["balloon.swap_in"] = 7;
  d.values["balloon.disk_caches"] = 512 * kMib;
  api->add("db", 8192, 8192, 4000, now);

  const Snapshot snap = read();
  EXPECT_EQ(api->opened_uri, "qemu:///system");
  EXPECT_EQ(api->stats_calls, 1);
  EXPECT_TRUE(api->last_nowait);
  EXPECT_EQ(snap.time_s, now);
  EXPECT_EQ(snap.host.total_kib, kMib * 32 * 1024);
  ASSERT_EQ(snap.vms.size(), 2U);
  const VmSample* web = find(snap, "web");
  ASSERT_NE(web, nullptr);
  EXPECT_EQ(web->max_kib, 4096 * kMib);
  EXPECT_EQ(web->actual_kib, 3072 * kMib);
  EXPECT_EQ(web->rss_kib, 3100 * kMib);
  EXPECT_EQ(web->guest.available_kib, 1500 * kMib) << "from balloon.usable";
  EXPECT_EQ(web->guest.total_kib, (4096 - 50) * kMib) << "from balloon.available";
  EXPECT_EQ(web->guest.swap_in_kib, 7);
  EXPECT_EQ(web->guest.disk_caches_kib, 512 * kMib);
  EXPECT_EQ(web->guest.last_update_s, now);
  EXPECT_EQ(web->stats_period_s, 2);
  EXPECT_TRUE(web->has_balloon);
  EXPECT_TRUE(web->exclude_reason.empty());
  EXPECT_TRUE(web->note.empty());

  read();
  EXPECT_EQ(api->stats_calls, 2);
  EXPECT_EQ(api->xml_calls, 2) << "the XML is read once per VM, not per tick";
}

TEST_F(LibvirtSessionTest, FallsBackWithoutNowaitWhenTheDriverRefusesIt) {
  api->nowait_supported = false;
  api->add("a", 1024, 1024, 500, now);
  EXPECT_EQ(read().vms.size(), 1U);
  EXPECT_EQ(api->stats_calls, 2);
  EXPECT_FALSE(api->last_nowait);
  read();
  EXPECT_EQ(api->stats_calls, 3) << "once refused, NOWAIT is not tried again";
}

TEST_F(LibvirtSessionTest, TurnsTheStatsPeriodOnWhenItIsOff) {
  api->add("a", 1024, 1024, 500, now).xml =
      "<domain><devices><memballoon model='virtio'/></devices></domain>";
  const Snapshot snap = read();
  ASSERT_EQ(api->periods.size(), 1U);
  EXPECT_EQ(api->periods[0], std::make_pair(std::string("a"), 2));
  EXPECT_EQ(snap.vms[0].stats_period_s, 2);
  EXPECT_TRUE(snap.vms[0].note.empty());
  read();
  EXPECT_EQ(api->periods.size(), 1U);
}

TEST_F(LibvirtSessionTest, ReportsStatsOffWhenNotAllowedToTurnThemOn) {
  spec.set_stats_period = false;
  api->add("a", 1024, 1024, 500, now).xml =
      "<domain><devices><memballoon model='virtio'><stats period='0'/></memballoon></devices>"
      "</domain>";
  const Snapshot snap = read();
  EXPECT_TRUE(api->periods.empty());
  EXPECT_EQ(snap.vms[0].stats_period_s, 0);
  EXPECT_EQ(snap.vms[0].note, "stats-off");
}

TEST_F(LibvirtSessionTest, NeverChangesAPeriodTheOperatorSet) {
  api->add("a", 1024, 1024, 500, now).xml =
      "<domain><devices><memballoon model='virtio'><stats period='10'/></memballoon></devices>"
      "</domain>";
  const Snapshot snap = read();
  EXPECT_TRUE(api->periods.empty());
  EXPECT_EQ(snap.vms[0].stats_period_s, 10);
}

TEST_F(LibvirtSessionTest, ReportsAVmWithoutABalloonDevice) {
  api->add("a", 1024, 1024, 500, now).xml =
      "<domain><devices><memballoon model='none'/></devices></domain>";
  const Snapshot snap = read();
  EXPECT_FALSE(snap.vms[0].has_balloon);
  EXPECT_EQ(snap.vms[0].note, "no-balloon-device");
  EXPECT_TRUE(api->periods.empty());
}

TEST_F(LibvirtSessionTest, ExcludesPassthroughVms) {
  api->add("gpu", 4096, 4096, 2000, now).xml =
      "<domain><devices><hostdev mode='subsystem' type='pci'/><memballoon model='virtio'/>"
      "</devices></domain>";
  api->add("sriov", 4096, 4096, 2000, now).xml =
      "<domain><devices><interface type='hostdev'/><memballoon model='virtio'/></devices>"
      "</domain>";
  const Snapshot snap = read();
  EXPECT_EQ(find(snap, "gpu")->exclude_reason, "vfio-passthrough");
  EXPECT_EQ(find(snap, "sriov")->exclude_reason, "vfio-passthrough");
}

// A device whose driver never reports is passed on as it is: never-reported stats (last update
// 0) with the stats period on, which the acknowledgement tracker judges no-driver in time.
TEST_F(LibvirtSessionTest, ADriverThatNeverReportsIsLeftToTheTracker) {
  api->add("silent", 1024, 1024, 500, now).values["balloon.last-update"] = 0;
  read();
  now += 300;
  const Snapshot later = read();
  EXPECT_TRUE(later.vms[0].has_balloon);
  EXPECT_EQ(later.vms[0].guest.last_update_s, 0);
  EXPECT_EQ(later.vms[0].stats_period_s, 2);
  EXPECT_TRUE(later.vms[0].note.empty());
}

TEST_F(LibvirtSessionTest, GuestFieldsSkippedByNowaitKeepTheLastReport) {
  api->add("busy", 1024, 1024, 500, now);
  read();
  auto& values = api->domains["busy"].values;
  for (const char* f :
       {"balloon.usable", "balloon.available", "balloon.unused", "balloon.last-update"}) {
    values.erase(f);
  }
  now += 100;  // well past acks.no_driver_after_s
  const Snapshot snap = read();
  EXPECT_TRUE(snap.vms[0].has_balloon) << "a driver that has reported is not no-driver";
  EXPECT_EQ(snap.vms[0].guest.available_kib, 500 * kMib);
  EXPECT_EQ(snap.vms[0].guest.last_update_s, now - 100) << "the old report, to age into stale";
}

TEST_F(LibvirtSessionTest, HoldsTargetsWhileAVmMigrates) {
  api->add("mover", 2048, 2048, 1000, now);
  read();
  api->events.push_back({.kind = Event::Kind::kLifecycle,
                         .vm = "mover",
                         .event = VIR_DOMAIN_EVENT_SUSPENDED,
                         .detail = VIR_DOMAIN_EVENT_SUSPENDED_MIGRATED});
  EXPECT_EQ(read().vms[0].exclude_reason, "migrating");
  EXPECT_FALSE(session().push("mover", 1024 * kMib, now).ok());
  EXPECT_TRUE(api->pushes.empty());

  api->events.push_back({.kind = Event::Kind::kLifecycle,
                         .vm = "mover",
                         .event = VIR_DOMAIN_EVENT_RESUMED,
                         .detail = VIR_DOMAIN_EVENT_RESUMED_MIGRATED});
  EXPECT_TRUE(read().vms[0].exclude_reason.empty());

  api->events.push_back({.kind = Event::Kind::kMigrationIteration, .vm = "mover"});
  EXPECT_EQ(read().vms[0].exclude_reason, "migrating");
  now += 11;
  EXPECT_TRUE(read().vms[0].exclude_reason.empty());

  api->domains["mover"].values["state.state"] = VIR_DOMAIN_PAUSED;
  api->domains["mover"].values["state.reason"] = VIR_DOMAIN_PAUSED_MIGRATION;
  EXPECT_EQ(read().vms[0].exclude_reason, "migrating");
}

TEST_F(LibvirtSessionTest, RecordsBalloonChangeEventsAsAcknowledgements) {
  api->add("a", 2048, 2048, 1500, now);
  read();
  ASSERT_TRUE(session().push("a", 1536 * kMib, now).ok());
  api->events.push_back({.kind = Event::Kind::kBalloonChange,
                         .vm = "a",
                         .actual_kib = 1800 * kMib,
                         .at_s = now + 0.5});
  api->events.push_back({.kind = Event::Kind::kBalloonChange,
                         .vm = "a",
                         .actual_kib = 1536 * kMib,
                         .at_s = now + 1.5});
  read();
  ASSERT_TRUE(session().acks().contains("a"));
  const auto& ack = session().acks().at("a");
  EXPECT_EQ(ack.actual_kib, 1536 * kMib);
  EXPECT_EQ(ack.count, 2);
  EXPECT_EQ(ack.last_s, now + 1.5);
}

TEST_F(LibvirtSessionTest, AVmThatVanishedBeforeThePushIsRoutine) {
  api->add("gone", 2048, 2048, 1500, now);
  read();
  api->vanish_on_push.insert("gone");
  EXPECT_TRUE(session().push("gone", 1024 * kMib, now).ok());
  EXPECT_TRUE(read().vms.empty());
}

TEST_F(LibvirtSessionTest, OneVmsErrorsDoNotStopTheOthers) {
  api->add("bad", 2048, 2048, 1500, now);
  api->add("good", 2048, 2048, 1500, now);
  api->xml_fails.insert("bad");
  Snapshot snap = read();
  ASSERT_EQ(snap.vms.size(), 1U);
  EXPECT_EQ(snap.vms[0].name, "good");

  api->xml_fails.clear();
  api->push_fails.insert("bad");
  snap = read();
  EXPECT_EQ(snap.vms.size(), 2U);
  EXPECT_FALSE(session().push("bad", 1024 * kMib, now).ok());
  EXPECT_TRUE(session().push("good", 1024 * kMib, now).ok());
  EXPECT_TRUE(session().connected());
}

TEST_F(LibvirtSessionTest, UnreachableAtStartRetriesWithCappedBackoff) {
  api->reachable = false;
  std::vector<double> attempts;
  for (int i = 0; i <= 200; ++i) {
    now = 1000 + i * 0.1;
    const int before = api->opens;
    EXPECT_FALSE(session().read(now).ok());
    if (api->opens != before) {
      attempts.push_back(now - 1000);
    }
  }
  // Backoff 1, 2, 4, then capped at reconnect_max_s = 4.
  ASSERT_GE(attempts.size(), 5U);
  EXPECT_NEAR(attempts[0], 0, 1e-6);
  EXPECT_NEAR(attempts[1], 1, 1e-6);
  EXPECT_NEAR(attempts[2], 3, 1e-6);
  EXPECT_NEAR(attempts[3], 7, 1e-6);
  EXPECT_NEAR(attempts[4], 11, 1e-6);

  api->reachable = true;
  now += 5;
  EXPECT_TRUE(session().read(now).ok());
  EXPECT_TRUE(session().connected());
  EXPECT_EQ(session().reconnects(), 0);
}

TEST_F(LibvirtSessionTest, StoppedVmsAreDroppedAndStartedOnesAdded) {
  api->add("a", 1024, 1024, 500, now);
  api->add("b", 1024, 1024, 500, now);
  EXPECT_EQ(read().vms.size(), 2U);
  api->domains.erase("a");
  api->events.push_back({.kind = Event::Kind::kLifecycle,
                         .vm = "a",
                         .event = VIR_DOMAIN_EVENT_STOPPED,
                         .detail = VIR_DOMAIN_EVENT_STOPPED_DESTROYED});
  api->add("c", 1024, 1024, 500, now);
  api->events.push_back({.kind = Event::Kind::kLifecycle,
                         .vm = "c",
                         .event = VIR_DOMAIN_EVENT_STARTED,
                         .detail = VIR_DOMAIN_EVENT_STARTED_BOOTED});
  const Snapshot snap = read();
  ASSERT_EQ(snap.vms.size(), 2U);
  EXPECT_EQ(find(snap, "a"), nullptr);
  EXPECT_NE(find(snap, "c"), nullptr);
}

TEST_F(LibvirtSessionTest, UsesDomainInfoWhenTheDriverHasNoBalloonGroup) {
  // libvirt's test driver returns only the state group.
  auto& d = api->domains["t"];
  d.values = {{"state.state", 1}, {"test.max", 8 << 20}, {"test.cur", 2 << 20}};
  const Snapshot snap = read();
  ASSERT_EQ(snap.vms.size(), 1U);
  EXPECT_EQ(snap.vms[0].max_kib, 8 << 20);
  EXPECT_EQ(snap.vms[0].actual_kib, 2 << 20);
}

}  // namespace
}  // namespace balloond::libvirt
