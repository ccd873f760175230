// SPDX-License-Identifier: Apache-2.0
// How long one control tick takes (snapshot, policy, guards, pushes) on the simulated host, for
// growing VM counts (the simulated host's own step is not timed). Goal: 1,000 VMs in at most
// 1 ms CPU. Run: build/bench/balloond_bench (scripts/bench.sh prints it with every other figure)

#include <benchmark/benchmark.h>
#include <spdlog/spdlog.h>

#include "daemon/allocator.h"
#include "daemon/compile.h"
#include "daemon/controller.h"
#include "daemon/sim/channel.h"
#include "daemon/sim/host.h"

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
  for (auto _ : state) {
    state.PauseTiming();
    host.advance(1);
    state.ResumeTiming();
    benchmark::DoNotOptimize(controller.tick());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_ControllerTick)->Arg(100)->Arg(1000)->Arg(10000)->Unit(benchmark::kMicrosecond);

}  // namespace

int main(int argc, char** argv) {
  balloond::tuneAllocatorForTicks();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
