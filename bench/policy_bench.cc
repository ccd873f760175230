// SPDX-License-Identifier: Apache-2.0
// Policy plus guards time per tick, for every built-in policy and 100, 1,000 and 10,000 VMs: the
// pure decision path alone, with no channel and no simulation. Goal: 10,000 VMs in at most 1 ms.
// Run: build/bench/balloond_policy_bench

#include <benchmark/benchmark.h>

#include <deque>
#include <random>

#include "daemon/allocator.h"
#include "policy/guards.h"
#include "policy/registry.h"

namespace {

using balloond::mibToKib;
using balloond::VmSample;
namespace policy = balloond::policy;

// A host with `count` VMs of mixed sizes and use, deterministic for a given count.
struct Fleet {
  explicit Fleet(int count) {
    std::mt19937_64 rng(42);
    auto uniform = [&](double lo, double hi) {
      return std::uniform_real_distribution<>(lo, hi)(rng);
    };
    for (int i = 0; i < count; ++i) {
      VmSample s;
      s.name = "vm" + std::to_string(i);
      s.max_kib = mibToKib(uniform(1024, 8192));
      s.actual_kib = static_cast<int64_t>(uniform(0.3, 1.0) * static_cast<double>(s.max_kib));
      s.guest.available_kib =
          static_cast<int64_t>(uniform(0, 0.6) * static_cast<double>(s.actual_kib));
      s.guest.unused_kib = *s.guest.available_kib / 2;
      s.guest.major_faults = 0;
      s.guest.swap_in_kib = 0;
      samples.push_back(s);
      total_kib += s.max_kib;
    }
    input.host.total_kib = total_kib * 3 / 4;  // overcommitted
    input.host.available_kib = input.host.total_kib / 10;
    input.host_reserve_kib = mibToKib(1024);
    for (const auto& s : samples) {
      input.vms.push_back(policy::VmView{.sample = &s,
                                         .limits = {.floor_kib = mibToKib(256),
                                                    .ceiling_kib = s.max_kib,
                                                    .excluded = false,
                                                    .shares = policy::kDefaultShares},
                                         .target_kib = s.actual_kib,
                                         .ack = policy::AckState::kSettled,
                                         .stats_fresh = true,
                                         .history = &state.vms[s.name]});
    }
  }
  // Moves time on by one tick with a fresh report from every guest.
  void nextTick() {
    input.now_s += 1;
    for (auto& s : samples) {
      s.guest.last_update_s = input.now_s;
      *s.guest.major_faults += static_cast<int64_t>(input.now_s) % 7;
    }
  }
  std::deque<VmSample> samples;
  int64_t total_kib = 0;
  policy::PolicyInput input;
  // Every VM's history, found once as the controller does (VmView::history).
  policy::PolicyState state;
};

void BM_PolicyAndGuards(benchmark::State& state, const std::string& name) {
  Fleet fleet(static_cast<int>(state.range(0)));
  auto p = policy::Registry::instance().create(name, {});
  if (!p) {
    state.SkipWithError(p.error().message.c_str());
    return;
  }
  const policy::Guards guards{.inflate_step_kib = mibToKib(128),
                              .inflate_step_fraction = 0.25,
                              .emergency_step_factor = 4,
                              .deflate_step_kib = mibToKib(1024),
                              .min_change_kib = mibToKib(8),
                              .need_margin_kib = mibToKib(64),
                              .grow_holdoff_s = 30,
                              .host_reserve_kib = mibToKib(1024)};
  for (auto _ : state) {
    fleet.nextTick();
    auto proposed = (*p)->decide(fleet.input, fleet.state);
    benchmark::DoNotOptimize(policy::applyGuards(fleet.input, proposed, guards, fleet.state));
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

void registerAll() {
  for (const auto& name : policy::Registry::instance().names()) {
    benchmark::RegisterBenchmark(("policy+guards/" + name).c_str(),
                                 [name](benchmark::State& s) { BM_PolicyAndGuards(s, name); })
        ->Arg(100)
        ->Arg(1000)
        ->Arg(10000)
        ->Unit(benchmark::kMillisecond);
  }
}

}  // namespace

int main(int argc, char** argv) {
  balloond::tuneAllocatorForTicks();
  benchmark::Initialize(&argc, argv);
  registerAll();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
