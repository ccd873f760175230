// SPDX-License-Identifier: Apache-2.0
// What per-VM limits (`vms:` entries) cost a whole run: 2,000 VMs on the simulated host for 600
// virtual seconds (one iteration is one whole run), with no entries, with one exact-name entry per
// VM, and with one single-VM glob per VM. `vs_none` is the run's wall time over the last run
// without entries (run that case first; the default order does), `cpu_vs_none` the same for the
// process's CPU time (steadier on a shared machine). Target: at most 1.2x.
// Run: build/bench/balloond_limits_bench

#include <benchmark/benchmark.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <ctime>
#include <string>

#include "daemon/compile.h"
#include "daemon/controller.h"
#include "daemon/sim/channel.h"
#include "daemon/sim/host.h"
#include "daemon/sim/virtual_run.h"

namespace {

using balloond::config::PhaseSpec;

enum Entries : int64_t { kNone = 0, kExact = 1, kGlob = 2 };

constexpr int kVms = 2000;
constexpr double kRunS = 600;

double none_wall_s = 0;  // the last whole run without entries, for vs_none
double none_cpu_s = 0;   // and its CPU time, for cpu_vs_none

// The 2,000 VMs of the scenario (as in tick_bench.cc), each with its own floor when
// `entries` asks for one entry per VM: by exact name, or by a glob matching that VM alone.
balloond::config::Config fleet(Entries entries) {
  balloond::config::Config c;
  c.policy.name = "margin";
  c.channel.sim.total_mib = 1024.0 * kVms;
  for (int i = 0; i < kVms; ++i) {
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
    if (entries == kNone) {
      continue;
    }
    balloond::config::VmOverrideSpec limits;
    const std::string id = std::to_string(i);
    // "vm12[3]" matches vm123 and nothing else.
    limits.match =
        entries == kExact ? vm.name : "vm" + id.substr(0, id.size() - 1) + "[" + id.back() + "]";
    limits.floor_mib = 200 + i % 7 * 16;
    c.vms.push_back(limits);
  }
  return c;
}

void BM_WholeRun(benchmark::State& state) {
  spdlog::set_level(spdlog::level::off);
  const auto entries = static_cast<Entries>(state.range(0));
  const auto cfg = fleet(entries);
  double wall_s = 0;
  double cpu_s = 0;
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores)
    state.PauseTiming();
    balloond::sim::SimHost host(cfg.channel.sim);
    balloond::SimChannel channel(host);
    auto compiled = balloond::compile(cfg);
    balloond::Controller controller(channel, std::move(compiled->policy),
                                    std::move(compiled->settings));
    state.ResumeTiming();
    const auto start = std::chrono::steady_clock::now();
    const std::clock_t cpu_start = std::clock();
    balloond::runOnVirtualClock(host, controller, 1, kRunS);
    cpu_s += static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
    wall_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  wall_s /= static_cast<double>(state.iterations());
  cpu_s /= static_cast<double>(state.iterations());
  state.counters["tick_ms"] = wall_s * 1000 / kRunS;
  if (entries == kNone) {
    none_wall_s = wall_s;
    none_cpu_s = cpu_s;
  } else if (none_wall_s > 0) {
    state.counters["vs_none"] = wall_s / none_wall_s;
    state.counters["cpu_vs_none"] = cpu_s / none_cpu_s;
  }
}
BENCHMARK(BM_WholeRun)
    ->ArgName("entries")
    ->Arg(kNone)
    ->Arg(kExact)
    ->Arg(kGlob)
    ->Iterations(1)
    ->Unit(benchmark::kSecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
