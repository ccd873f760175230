// SPDX-License-Identifier: Apache-2.0
// How long one control tick takes (snapshot, policy, guards, pushes) on the simulated host, for
// growing VM counts (the simulated host's own step is not timed; goal: 1,000 VMs in at most 1 ms
// CPU), and what the daemon does after each tick to know whether the state file needs writing.
// Run: build/bench/balloond_bench (scripts/bench.sh prints it with every other figure)

#include <benchmark/benchmark.h>
#include <spdlog/spdlog.h>

#include "daemon/allocator.h"
#include "daemon/compile.h"
#include "daemon/controller.h"
#include "daemon/sim/channel.h"
#include "daemon/sim/host.h"
#include "daemon/state/codec.h"

namespace {

using balloond::config::PhaseSpec;

balloond::config::Config manyVms(int count) {
  balloond::config::Config c;
  c.policy.name = "margin";
  c.channel.sim.total_mib = 1024.0 * count;
  for (int i = 0; i < count; ++i) {
    balloond::config::SimVmSpec vm;
    vm.name = "vm" + std::to_string(i);
    vm.max_mib = 2048;
    PhaseSpec wave;
    wave.kind = PhaseSpec::Kind::kPeriodic;
    wave.low_mib = 100;
    wave.high_mib = 1200;
    wave.period_s = 30.0 + i % 17;
    vm.workload.phases = {wave};
    c.channel.sim.vms.push_back(vm);
  }
  return c;
}

void BM_ControllerTick(benchmark::State& state) {
  spdlog::set_level(spdlog::level::off);
  const auto cfg = manyVms(static_cast<int>(state.range(0)));
  balloond::sim::SimHost host(cfg.channel.sim);
  balloond::SimChannel channel(host);
  auto policy = balloond::compile(cfg);
  balloond::Controller controller(channel, std::move(policy->policy), std::move(policy->settings));
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores)
    state.PauseTiming();
    host.advance(1);
    state.ResumeTiming();
    benchmark::DoNotOptimize(controller.tick());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_ControllerTick)->Arg(100)->Arg(1000)->Arg(10000)->Unit(benchmark::kMicrosecond);

// After every tick the daemon asks whether the state changed since it was last written (the
// common answer on a quiet host is no). range(1) = 0: as it did, the state as JSON text minus
// its clock, against the last text; 1: as it does, the state as a value against the last one.
void BM_StateUnchangedCheck(benchmark::State& state) {
  spdlog::set_level(spdlog::level::off);
  const auto cfg = manyVms(static_cast<int>(state.range(0)));
  balloond::sim::SimHost host(cfg.channel.sim);
  balloond::SimChannel channel(host);
  auto policy = balloond::compile(cfg);
  balloond::Controller controller(channel, std::move(policy->policy), std::move(policy->settings));
  for (int i = 0; i < 30; ++i) {  // some history in every VM
    host.advance(1);
    controller.tick();
  }
  auto text = [&] {
    nlohmann::json j = balloond::toJson(controller.persistedState());
    j.erase("clock_s");
    j.erase("policy_memory");
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  };
  const bool as_value = state.range(1) == 1;
  const std::string saved_text = text();
  const balloond::PersistedState saved = controller.persistedState();
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores)
    if (as_value) {
      const balloond::PersistedState now = controller.persistedState();
      benchmark::DoNotOptimize(now.paused == saved.paused && now.vms == saved.vms);
    } else {
      benchmark::DoNotOptimize(text() == saved_text);
    }
  }
}
BENCHMARK(BM_StateUnchangedCheck)
    ->ArgsProduct({{8, 100, 1000}, {0, 1}})
    ->ArgNames({"vms", "as_value"})
    ->Unit(benchmark::kMicrosecond);

}  // namespace

int main(int argc, char** argv) {
  balloond::tuneAllocatorForTicks();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
