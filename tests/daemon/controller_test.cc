// SPDX-License-Identifier: Apache-2.0
#include "daemon/controller.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <functional>
#include <limits>
#include <sstream>

#include "daemon/compile.h"
#include "tests/daemon/fake_channel.h"

namespace balloond {
namespace {

using testing::FakeChannel;

config::Config baseConfig() {
  config::Config c;
  c.policy.name = "margin";
  c.policy.params["peak_window_s"] = 0;  // the rule alone, from the first report
  c.default_floor_mib = 256;
  c.guards.inflate_step_mib = 128;
  c.guards.host_reserve_mib = 1024;
  return c;
}

class ControllerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    spdlog::set_level(spdlog::level::warn);
    channel.setHost(10, 16384, 8192);
  }
  Controller make(const config::Config& c = baseConfig()) {
    auto policy = compile(c);
    EXPECT_TRUE(policy.ok());
    return Controller(channel, std::move(policy->policy), std::move(policy->settings));
  }
  static void reconfigure(Controller& c, const config::Config& cfg) {
    auto compiled = compile(cfg);
    ASSERT_TRUE(compiled.ok());
    c.reconfigure(std::move(compiled->policy), std::move(compiled->settings));
  }
  const VmStatus& status(const Controller& c, const std::string& name) {
    for (const auto& s : c.status()) {
      if (s.name == name) {
        return s;
      }
    }
    ADD_FAILURE() << "no status for " << name;
    return c.status().front();
  }
  FakeChannel channel;
};

TEST_F(ControllerTest, PushesOnlyWhatChangedAndSaysWhy) {
  channel.addVm("idle", 2048, 2048, 1800);
  channel.addVm("busy", 2048, 2048, 400);  // within the margin band
  Controller c = make();
  const TickReport r = c.tick();
  ASSERT_EQ(r.changes.size(), 1U);
  EXPECT_EQ(r.changes[0].vm, "idle");
  EXPECT_EQ(r.changes[0].to_kib, mibToKib(1920));
  EXPECT_EQ(r.changes[0].reason, "available-above-margin/inflate-step");
  EXPECT_EQ(channel.pushes.size(), 1U);
  EXPECT_EQ(status(c, "idle").state, policy::AckState::kConverging);
  EXPECT_EQ(status(c, "idle").reason, "available-above-margin/inflate-step");
  EXPECT_EQ(status(c, "busy").reason, "initial");

  // The guest has not moved yet: the same target is not pushed again.
  channel.snapshot.time_s = 11;
  for (auto& vm : channel.snapshot.vms) {
    vm.guest.last_update_s = 11;
  }
  channel.snapshot.vms[0].actual_kib = mibToKib(1920);
  channel.snapshot.vms[0].guest.available_kib = mibToKib(1672);
  const TickReport r2 = c.tick();
  ASSERT_EQ(r2.changes.size(), 1U);
  EXPECT_EQ(r2.changes[0].to_kib, mibToKib(1792));
  EXPECT_EQ(status(c, "idle").state, policy::AckState::kConverging);
}

TEST_F(ControllerTest, AChannelErrorSkipsTheTick) {
  channel.addVm("idle", 2048, 2048, 1800);
  channel.fail_read = true;
  Controller c = make();
  const TickReport r = c.tick();
  ASSERT_TRUE(r.error.has_value());
  EXPECT_EQ(*r.error, "fake: cannot read");
  EXPECT_TRUE(channel.pushes.empty());
}

TEST_F(ControllerTest, AFailedPushDoesNotStopTheOthers) {
  channel.addVm("a", 2048, 2048, 1800);
  channel.addVm("b", 2048, 2048, 1800);
  channel.fail_push_for = "a";
  Controller c = make();
  const TickReport r = c.tick();
  EXPECT_EQ(r.push_failures, 1);
  ASSERT_EQ(channel.pushes.size(), 1U);
  EXPECT_EQ(channel.pushes[0].first, "b");
  // The failed VM keeps its old target and is tried again next tick.
  EXPECT_EQ(status(c, "a").target_kib, mibToKib(2048));
  channel.fail_push_for.clear();
  c.tick();
  EXPECT_EQ(channel.pushes.back().first, "a");
}

// An asynchronous channel (libvirt's worker) learns of a failure after push() said Ok: the tick
// that hears of it counts it and pushes the target again, as after a push that failed at once.
TEST_F(ControllerTest, APushThatFailedLaterIsCountedAndTriedAgain) {
  channel.addVm("a", 2048, 2048, 1800);
  channel.addVm("b", 2048, 2048, 1800);
  Controller c = make();
  const TickReport r = c.tick();
  EXPECT_EQ(r.push_failures, 0);
  ASSERT_EQ(channel.pushes.size(), 2U);
  ASSERT_EQ(channel.pushes[0].first, "a");
  const int64_t target = channel.pushes[0].second;
  channel.failed_later.push_back({"a", target, "fake: refused later"});
  channel.pushes.clear();

  const TickReport r2 = c.tick();
  EXPECT_EQ(r2.push_failures, 1);
  EXPECT_EQ(r2.failed_pushes, std::vector<std::string>{"a"});
  ASSERT_EQ(channel.pushes.size(), 1U) << "b's target stands; a's is asked for again";
  EXPECT_EQ(channel.pushes[0], std::make_pair(std::string("a"), target));
  EXPECT_EQ(status(c, "a").target_kib, target);
}

TEST_F(ControllerTest, OverridesByGlobSetFloorsCeilingsAndExclusions) {
  channel.addVm("db1", 4096, 4096, 3900);
  channel.addVm("web1", 2048, 2048, 1900);
  channel.addVm("web2", 2048, 2048, 1900);
  config::Config cfg = baseConfig();
  cfg.guards.inflate_step_mib = 8192;
  cfg.guards.inflate_step_fraction = 1;
  cfg.vms = {
      {.match = "web*", .floor_mib = 1500, .ceiling_mib = {}, .excluded = {}, .shares = {}},
      {.match = "web2", .floor_mib = {}, .ceiling_mib = {}, .excluded = true, .shares = {}},
      {.match = "db?", .floor_mib = 1024, .ceiling_mib = 3072, .excluded = {}, .shares = {}}};
  Controller c = make(cfg);
  c.tick();
  EXPECT_EQ(status(c, "web1").floor_kib, mibToKib(1500));
  EXPECT_EQ(status(c, "web1").target_kib, mibToKib(1500));
  EXPECT_EQ(status(c, "web2").state, policy::AckState::kExcluded);
  EXPECT_EQ(status(c, "web2").target_kib, mibToKib(2048));
  EXPECT_EQ(status(c, "db1").ceiling_kib, mibToKib(3072));
  EXPECT_EQ(status(c, "db1").target_kib, mibToKib(1024));
  for (const auto& [vm, kib] : channel.pushes) {
    EXPECT_NE(vm, "web2");
  }
}

TEST_F(ControllerTest, StaleStatsAreShownAndNeverShrunkOn) {
  channel.addVm("frozen", 2048, 2048, 1800).guest.last_update_s = 2;  // 8 s old, period 1 s
  Controller c = make();
  const TickReport r = c.tick();
  EXPECT_TRUE(r.changes.empty());
  EXPECT_EQ(status(c, "frozen").state, policy::AckState::kStale);
}

TEST_F(ControllerTest, AVmTheChannelCouldNotReadIsStaleAndItsSilenceIsNoStall) {
  // Shrinking, and moving: 2048 -> toward 1500.
  channel.addVm("busy", 2048, 2048, 1800);
  Controller c = make();
  c.tick();
  ASSERT_FALSE(channel.pushes.empty());
  const int64_t target = channel.pushes.back().second;
  // The channel cannot reach it for many ticks (QEMU's socket held by another client): the same
  // numbers come back, marked unread.
  channel.pushes.clear();
  for (int t = 11; t < 60; ++t) {
    channel.setHost(t, 16384, 8192);
    channel.snapshot.vms[0].unread_reason = "no answer within 0.5 s";
    const TickReport r = c.tick();
    EXPECT_TRUE(r.changes.empty()) << "nothing fresh to act on at " << t;
    EXPECT_EQ(status(c, "busy").state, policy::AckState::kStale);
    EXPECT_EQ(status(c, "busy").state_reason, "not read this tick: no answer within 0.5 s");
  }
  EXPECT_TRUE(channel.pushes.empty());  // no retraction: it was never seen stuck
  // Read again, and it has reached the target: settled, never judged stuck or uncooperative.
  channel.setHost(60, 16384, 8192);
  channel.snapshot.vms[0].unread_reason.clear();
  channel.snapshot.vms[0].actual_kib = target;
  channel.snapshot.vms[0].guest.available_kib = target - mibToKib(300);
  channel.snapshot.vms[0].guest.last_update_s = 60;
  c.tick();
  EXPECT_NE(status(c, "busy").state, policy::AckState::kStuck);
  EXPECT_NE(status(c, "busy").state, policy::AckState::kUncooperative);
}

TEST_F(ControllerTest, VmsComeAndGo) {
  channel.addVm("a", 2048, 2048, 1800);
  Controller c = make();
  c.tick();
  channel.snapshot.vms.clear();
  channel.addVm("b", 2048, 2048, 1800);
  c.tick();
  ASSERT_EQ(c.status().size(), 1U);
  EXPECT_EQ(c.status()[0].name, "b");
  EXPECT_EQ(c.decisions("a"), nullptr);  // forgotten in the tick b arrived in
  EXPECT_EQ(c.dumpState().history.vms.count("a"), 0U);
  // "a" comes back with no memory of its old target.
  channel.addVm("a", 2048, 1000, 100);
  c.tick();
  EXPECT_NEAR(kibToMib(status(c, "a").target_kib), 1000 + (0.2 * 2048 - 100), 0.01);
}

TEST_F(ControllerTest, GoneVmsLeaveTheLimitsCacheAndAReloadMatchesAfresh) {
  channel.addVm("web1", 2048, 2048, 1900);
  channel.addVm("web2", 2048, 2048, 1900);
  config::Config cfg = baseConfig();
  cfg.vms = {{.match = "web*", .floor_mib = 1500, .ceiling_mib = {}, .excluded = {}, .shares = {}},
             {.match = "web2", .floor_mib = {}, .ceiling_mib = {}, .excluded = true, .shares = {}}};
  Controller c = make(cfg);
  c.tick();
  EXPECT_EQ(c.cachedLimitNames(), 2U);
  EXPECT_EQ(status(c, "web1").floor_kib, mibToKib(1500));
  EXPECT_EQ(status(c, "web2").state, policy::AckState::kExcluded);

  channel.snapshot.vms.erase(channel.snapshot.vms.begin() + 1);  // web2 stops
  c.tick();
  EXPECT_EQ(c.cachedLimitNames(), 1U);

  // A reload's entries apply from the next tick, to VMs already matched too.
  cfg.vms[0].floor_mib = 1000;
  cfg.vms[1].excluded = false;
  reconfigure(c, cfg);
  channel.addVm("web2", 2048, 2048, 1900);
  c.tick();
  EXPECT_EQ(status(c, "web1").floor_kib, mibToKib(1000));
  EXPECT_EQ(status(c, "web2").floor_kib, mibToKib(1000));
  EXPECT_NE(status(c, "web2").state, policy::AckState::kExcluded);
  reconfigure(c, baseConfig());
  c.tick();
  EXPECT_EQ(status(c, "web1").floor_kib, mibToKib(256));
}

TEST_F(ControllerTest, ReconfigureKeepsPerVmHistory) {
  channel.addVm("idle", 2048, 2048, 1800);
  Controller c = make();
  c.tick();
  config::Config cfg = baseConfig();
  cfg.default_floor_mib = 1990;
  auto policy = compile(cfg);
  ASSERT_TRUE(policy.ok());
  c.reconfigure(std::move(policy->policy), std::move(policy->settings));
  channel.snapshot.time_s = 11;
  channel.snapshot.vms[0].guest.last_update_s = 11;
  const TickReport r = c.tick();
  ASSERT_EQ(r.changes.size(), 1U);
  EXPECT_EQ(r.changes[0].from_kib, mibToKib(1920));  // remembered across the swap
  EXPECT_EQ(r.changes[0].to_kib, mibToKib(1990));
}

// The vm-state lines logged while it lives, at every level.
class StateLog {
 public:
  StateLog() : previous_(spdlog::default_logger()) {
    auto logger = std::make_shared<spdlog::logger>(
        "test", std::make_shared<spdlog::sinks::ostream_sink_mt>(out_));
    logger->set_pattern("%v");
    logger->set_level(spdlog::level::debug);
    spdlog::set_default_logger(logger);
    spdlog::set_level(spdlog::level::debug);
  }
  ~StateLog() {
    spdlog::set_default_logger(previous_);
    spdlog::set_level(spdlog::level::warn);
  }
  StateLog(const StateLog&) = delete;
  StateLog& operator=(const StateLog&) = delete;
  // The vm-state lines since the last call, without their reasons.
  std::vector<std::string> take() {
    std::vector<std::string> lines;
    std::string line;
    std::istringstream in(out_.str());
    while (std::getline(in, line)) {
      if (line.starts_with("vm-state ")) {
        lines.push_back(line.substr(0, line.find(" reason=")));
      }
    }
    out_.str("");
    return lines;
  }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::logger> previous_;
};

TEST_F(ControllerTest, OnlyTheStateAVmEndsTheTickInIsLogged) {
  channel.addVm("idle", 2048, 2048, 1800);
  Controller c = make();
  StateLog log;
  c.tick();  // settled when judged, converging once asked to shrink: one line, the end state
  EXPECT_EQ(log.take(), std::vector<std::string>{"vm-state vm=idle from=new to=converging"});
  EXPECT_EQ(status(c, "idle").state, policy::AckState::kConverging);
  for (int t = 11; t < 20; ++t) {  // it never moves: stuck and retracted within one tick
    channel.snapshot.time_s = t;
    channel.snapshot.vms[0].guest.last_update_s = t;
    c.tick();
  }
  EXPECT_EQ(log.take(), std::vector<std::string>{"vm-state vm=idle from=converging to=stuck"});
}

// MOM's windows: one sample per tick of each VM with its unused memory reported.
TEST_F(ControllerTest, AReloadKeepsThePolicysMemoryOnlyForTheSamePolicy) {
  channel.addVm("vm", 2048, 2048, 1800).guest.unused_kib = mibToKib(1000);
  config::Config mom = baseConfig();
  mom.policy = {.name = "mom", .params = {}};
  Controller c = make(mom);
  c.tick();
  c.tick();
  const auto windowLength = [&] {
    const StateDump d = c.dumpState();
    EXPECT_EQ(d.policy_memory.policy, "mom");
    return d.policy_memory.memory.at("vms").at("vm").at("actual_window_kib").size();
  };
  EXPECT_EQ(windowLength(), 2U);
  mom.policy.params["min_balloon_change_percent"] = 0.01;  // other parameters, same policy
  reconfigure(c, mom);
  EXPECT_EQ(windowLength(), 2U);
  c.tick();
  EXPECT_EQ(windowLength(), 3U);

  reconfigure(c, baseConfig());
  const StateDump other = c.dumpState();  // margin keeps its own memory, not mom's
  EXPECT_EQ(other.policy_memory.policy, "margin");
  EXPECT_FALSE(other.policy_memory.memory.contains("host_free_history"));
  reconfigure(c, mom);
  c.tick();
  EXPECT_EQ(windowLength(), 1U);  // mom again, from scratch
}

// The hostile samples: each used to be clamped and shrunk by a full inflate step with no
// reason. Now none is shrunk on, the VM is stale with the problem as its reason, and the report
// names it for the metric.
TEST_F(ControllerTest, InconsistentStatsAreNeverShrunkOn) {
  struct Case {
    const char* what;
    const char* policy;
    std::function<void(VmSample&)> edit;
    const char* kind;
    const char* reason;
  };
  const Case cases[] = {
      {"available above total", "margin", [](VmSample& v) { v.guest.total_kib = mibToKib(1000); },
       "available-above-total", "inconsistent stats: available > total"},
      {"available above actual", "margin",
       [](VmSample& v) {
         v.actual_kib = mibToKib(1024);
         v.guest.available_kib = mibToKib(1800);
       },
       "available-above-actual", "inconsistent stats: available > actual"},
      {"available at INT64_MAX", "margin",
       [](VmSample& v) { v.guest.available_kib = std::numeric_limits<int64_t>::max(); },
       "available-above-total", "inconsistent stats: available > total"},
      {"unused above actual", "mom", [](VmSample& v) { v.guest.unused_kib = mibToKib(4000); },
       "unused-above-actual", "inconsistent stats: unused > actual"},
      {"last update 1e6 s ahead", "margin", [](VmSample& v) { v.guest.last_update_s += 1e6; },
       "future-timestamp", "inconsistent stats: last update in the future"},
      {"last update 1e300", "margin", [](VmSample& v) { v.guest.last_update_s = 1e300; },
       "future-timestamp", "inconsistent stats: last update in the future"},
  };
  for (const auto& c : cases) {
    FakeChannel ch;
    ch.snapshot = channel.snapshot;
    ch.snapshot.host.free_kib = mibToKib(1000);  // mom: host pressure, so it would shrink
    VmSample& vm = ch.addVm("vm", 2048, 2048, 1800);
    vm.guest.total_kib = mibToKib(1984);
    vm.guest.unused_kib = mibToKib(1500);
    c.edit(vm);
    config::Config cfg = baseConfig();
    cfg.policy = {.name = c.policy, .params = {}};
    auto compiled = compile(cfg);
    ASSERT_TRUE(compiled.ok()) << c.what;
    Controller ctl(ch, std::move(compiled->policy), std::move(compiled->settings));
    const TickReport r = ctl.tick();
    EXPECT_TRUE(r.changes.empty()) << c.what << ": " << r.changes.front().reason;
    ASSERT_EQ(r.invalid_samples.size(), 1U) << c.what;
    EXPECT_EQ(r.invalid_samples[0].second, c.kind) << c.what;
    ASSERT_EQ(ctl.status().size(), 1U);
    EXPECT_EQ(ctl.status()[0].state, policy::AckState::kStale) << c.what;
    EXPECT_EQ(ctl.status()[0].state_reason, c.reason) << c.what;
    EXPECT_FALSE(ctl.status()[0].available_kib) << c.what;  // withheld, not shown
  }
}

// The same guest, consistent again, is shrunk as before.
TEST_F(ControllerTest, AGuestWhoseStatsRecoverIsManagedAgain) {
  VmSample& vm = channel.addVm("vm", 2048, 2048, 1800);
  vm.guest.total_kib = mibToKib(1000);
  Controller c = make();
  EXPECT_TRUE(c.tick().changes.empty());
  channel.snapshot.time_s = 11;
  channel.snapshot.vms[0].guest.last_update_s = 11;
  channel.snapshot.vms[0].guest.total_kib = mibToKib(1984);
  const TickReport r = c.tick();
  EXPECT_TRUE(r.invalid_samples.empty());
  ASSERT_EQ(r.changes.size(), 1U);
  EXPECT_EQ(r.changes[0].reason, "available-above-margin/inflate-step");
}

}  // namespace
}  // namespace balloond
