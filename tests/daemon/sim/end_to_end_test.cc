// SPDX-License-Identifier: Apache-2.0
// The whole loop, channel to guards to pushes, on the simulated host with the virtual clock.

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include "config/loader.h"
#include "daemon/compile.h"
#include "daemon/controller.h"
#include "daemon/sim/channel.h"
#include "daemon/sim/host.h"
#include "daemon/sim/virtual_run.h"

namespace balloond {
namespace {

config::SimVmSpec vm(const std::string& name, double max_mib, std::vector<config::PhaseSpec> phases,
                     double swap_mib = 0) {
  config::SimVmSpec v;
  v.name = name;
  v.max_mib = max_mib;
  v.swap_mib = swap_mib;
  v.workload.phases = std::move(phases);
  return v;
}

config::PhaseSpec constant(double mib, double duration_s = 0) {
  config::PhaseSpec p;
  p.kind = config::PhaseSpec::Kind::kConstant;
  p.mib = mib;
  p.duration_s = duration_s;
  return p;
}

config::PhaseSpec ramp(double from, double to, double duration_s) {
  config::PhaseSpec p;
  p.kind = config::PhaseSpec::Kind::kRamp;
  p.from_mib = from;
  p.to_mib = to;
  p.duration_s = duration_s;
  return p;
}

// A simulated host, its channel and a controller, built from one config.
struct Rig {
  explicit Rig(const config::Config& cfg) : Rig(cfg, compiled(cfg)) {}
  Rig(const config::Config& cfg, Compiled parts)
      : host(cfg.channel.sim),
        channel(host),
        controller(channel, std::move(parts.policy), std::move(parts.settings)) {}
  static Compiled compiled(const config::Config& cfg) {
    auto c = compile(cfg);
    EXPECT_TRUE(c.ok());
    return std::move(*c);
  }
  sim::SimHost host;
  SimChannel channel;
  Controller controller;
};

config::Config hostWith(std::vector<config::SimVmSpec> vms, double total_mib = 16384) {
  config::Config c;
  c.policy.name = "margin";
  c.policy.params["peak_window_s"] = 0;  // the rule alone, from the first report
  c.channel.sim.total_mib = total_mib;
  c.channel.sim.vms = std::move(vms);
  return c;
}

class EndToEndTest : public ::testing::Test {
 protected:
  void SetUp() override { spdlog::set_level(spdlog::level::warn); }
};

TEST_F(EndToEndTest, IdleVmsAreReclaimedTowardTheirFloorAndTheHostGains) {
  std::vector<config::SimVmSpec> vms;
  for (int i = 0; i < 4; ++i) {
    vms.push_back(vm("idle" + std::to_string(i), 2048, {constant(200)}));
  }
  Rig rig(hostWith(vms));
  rig.host.advance(0);
  const int64_t host_before = rig.host.hostAvailableKib();
  runOnVirtualClock(rig.host, rig.controller, 1, 120);

  // Each guest holds kernel 96 + 200 anon and wants 20% of 2048 available: about 700 MiB.
  for (const auto& status : rig.controller.status()) {
    EXPECT_LT(kibToMib(status.actual_kib), 800) << status.name;
    EXPECT_GE(status.actual_kib, status.floor_kib) << status.name;
    EXPECT_EQ(status.state, policy::AckState::kSettled) << status.name;
  }
  EXPECT_GT(kibToMib(rig.host.hostAvailableKib() - host_before), 4 * 1200.0);
  EXPECT_EQ(rig.host.totalOomKills(), 0);
}

TEST_F(EndToEndTest, AGrowingWorkloadGetsMemoryBackBeforeItIsKilled) {
  // Idle for a minute (and so squeezed), then ramps to 1500 MiB over 60 s, with no swap.
  Rig rig(hostWith({vm("batch", 2048, {constant(200, 60), ramp(200, 1500, 60), constant(1500)})}));
  double smallest = 1e9;
  runOnVirtualClock(rig.host, rig.controller, 1, 180, [&](const TickReport&) {
    smallest = std::min(smallest, rig.host.guest("batch")->actual_mib);
  });
  EXPECT_LT(smallest, 800);  // it really was squeezed first
  EXPECT_EQ(rig.host.guest("batch")->counters.oom_kills, 0);
  EXPECT_GE(rig.host.guest("batch")->actual_mib, 1500 + 96);
}

TEST_F(EndToEndTest, NoTargetEverCrossesAFloorOrACeiling) {
  config::PhaseSpec spike;
  spike.kind = config::PhaseSpec::Kind::kSpike;
  spike.mib = 300;
  spike.peak_mib = 1800;
  spike.at_s = 20;
  spike.length_s = 15;
  spike.duration_s = 60;
  config::PhaseSpec wave;
  wave.kind = config::PhaseSpec::Kind::kPeriodic;
  wave.low_mib = 100;
  wave.high_mib = 1400;
  wave.period_s = 45;
  auto spiky = vm("spiky", 2048, {spike});
  spiky.workload.repeat = true;
  config::Config cfg =
      hostWith({spiky, vm("wave", 2048, {wave}, 512), vm("floored", 4096, {constant(100)}),
                vm("capped", 4096, {ramp(100, 3800, 100)}, 1024)},
               8192);
  cfg.vms = {
      {.match = "floored", .floor_mib = 2000, .ceiling_mib = {}, .excluded = {}, .shares = {}},
      {.match = "cap*", .floor_mib = 512, .ceiling_mib = 2500, .excluded = {}, .shares = {}}};
  Rig rig(cfg);
  int64_t checked = 0;
  runOnVirtualClock(rig.host, rig.controller, 1, 300, [&](const TickReport& report) {
    for (const auto& s : rig.controller.status()) {
      EXPECT_GE(s.target_kib, s.floor_kib) << s.name << " at t=" << report.time_s;
      EXPECT_LE(s.target_kib, s.ceiling_kib) << s.name << " at t=" << report.time_s;
      ++checked;
    }
  });
  EXPECT_EQ(checked, 4 * 300);
  EXPECT_LE(rig.host.guest("capped")->actual_mib, 2500);
  EXPECT_GE(rig.host.guest("floored")->actual_mib, 2000);
}

TEST_F(EndToEndTest, TheShippedDemoConfigRunsAndReclaims) {
  auto cfg = config::loadConfigFile(BALLOOND_SOURCE_DIR "/config/examples/demo.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  Rig rig(*cfg);
  auto balloons = [&] {
    int64_t kib = 0;
    for (const auto& vm : rig.controller.status()) {
      kib += vm.max_kib - vm.actual_kib;
    }
    return kib;
  };
  runOnVirtualClock(rig.host, rig.controller, cfg->tick_s, 1);
  const int64_t before = balloons();
  runOnVirtualClock(rig.host, rig.controller, cfg->tick_s, 60);
  EXPECT_GT(kibToMib(balloons() - before), 1000);
}

}  // namespace
}  // namespace balloond
