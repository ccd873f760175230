// SPDX-License-Identifier: Apache-2.0
// What one tick costs on the libvirt channel, against libvirt's test driver (in process, no
// daemon) with 1, 100 and 1,000 running domains: the read alone (one bulk stats call, node
// memory, and the test driver's per-domain size lookup), and a whole controller tick with its
// pushes. The first read (domain XML, stats periods) is done before timing. The calls run on the
// channel's worker thread: Time is wall-clock (it also sets the iterations), CPU is the daemon
// thread's alone, what the loop spends per read or tick.
// Run: build/bench/balloond_libvirt_bench
#include <benchmark/benchmark.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "daemon/compile.h"
#include "daemon/controller.h"
#include "daemon/libvirt/channel.h"
#include "tests/daemon/libvirt/test_node.h"

namespace {

std::string nodeFile(int count) {
  return balloond::testing::writeTestNode(count, std::filesystem::temp_directory_path().string());
}

// The test driver answers in milliseconds: read() always waits for its own read.
constexpr balloond::LibvirtWaits kPatient{.read = std::chrono::seconds(60),
                                          .stop = std::chrono::seconds(60)};

balloond::config::LibvirtSpec spec(const std::string& path) {
  balloond::config::LibvirtSpec s;
  s.uri = "test://" + path;
  return s;
}

void BM_LibvirtRead(benchmark::State& state) {
  spdlog::set_level(spdlog::level::off);
  const std::string path = nodeFile(static_cast<int>(state.range(0)));
  balloond::LibvirtChannel channel(balloond::libvirt::makeRealApi(), spec(path), {}, kPatient);
  if (!channel.read().ok()) {
    state.SkipWithError("cannot read the test node");
    return;
  }
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores)
    auto snap = channel.read();
    benchmark::DoNotOptimize(snap);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
  std::filesystem::remove(path);
}
BENCHMARK(BM_LibvirtRead)
    ->Arg(1)
    ->Arg(100)
    ->Arg(1000)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

void BM_LibvirtTick(benchmark::State& state) {
  spdlog::set_level(spdlog::level::off);
  const std::string path = nodeFile(static_cast<int>(state.range(0)));
  balloond::LibvirtChannel channel(balloond::libvirt::makeRealApi(), spec(path), {}, kPatient);
  balloond::config::Config c;
  c.policy.name = "margin";
  auto policy = balloond::compile(c);
  balloond::Controller controller(channel, std::move(policy->policy), std::move(policy->settings));
  controller.tick();
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores)
    benchmark::DoNotOptimize(controller.tick());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
  std::filesystem::remove(path);
}
BENCHMARK(BM_LibvirtTick)
    ->Arg(1)
    ->Arg(100)
    ->Arg(1000)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
