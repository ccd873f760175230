// SPDX-License-Identifier: Apache-2.0
// What one tick costs on the QMP channel with 1, 10 and 50 QEMU sockets, each served by a
// scripted fake QEMU (tests/daemon/qmp/fake_qemu.h) on a thread of its own, so the CPU column is
// balloond's alone: the glob, the snapshot, /proc reads, and every VM's session (connect,
// greeting, capabilities, query-balloon, guest-stats, a push, disconnect in shared mode; the
// reads and the push on the open connection in exclusive mode), until the last one ends. The
// first tick (each QEMU's facts: name, size, balloon path, stats period) is done before timing.
// Time is wall time from read() to the last session's end; CPU is this thread's.
// Run: build/bench/balloond_qmp_bench
#include <benchmark/benchmark.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "daemon/qmp/channel.h"
#include "tests/daemon/qmp/fake_qemu.h"

namespace {

using balloond::qmp::testing::FakeQemu;

constexpr int64_t kKibPerMib = 1024;

// `count` fake QEMUs on sockets in a fresh folder, served on their own thread until destroyed.
class FakeHost {
 public:
  explicit FakeHost(int count)
      : dir_(std::filesystem::temp_directory_path() /
             ("balloond-qmp-bench-" + std::to_string(getpid()))),
        work_(boost::asio::make_work_guard(io_)) {
    std::filesystem::create_directories(dir_);
    for (int i = 0; i < count; ++i) {
      auto& q = qemus_.emplace_back(
          std::make_unique<FakeQemu>(io_, (dir_ / (std::to_string(100 + i) + ".qmp")).string()));
      q->name = "vm" + std::to_string(i);
    }
    thread_ = std::thread([this] { io_.run(); });
  }
  ~FakeHost() {
    work_.reset();
    io_.stop();
    thread_.join();
    qemus_.clear();
    std::filesystem::remove_all(dir_);
  }
  FakeHost(const FakeHost&) = delete;
  FakeHost& operator=(const FakeHost&) = delete;
  FakeHost(FakeHost&&) = delete;
  FakeHost& operator=(FakeHost&&) = delete;

  [[nodiscard]] std::string glob() const { return (dir_ / "*.qmp").string(); }

 private:
  std::filesystem::path dir_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::vector<std::unique_ptr<FakeQemu>> qemus_;
  std::thread thread_;
};

// One tick: read, push a new target to every VM, and run until every session has ended.
bool tick(boost::asio::io_context& io, balloond::QmpChannel& channel, int64_t target_kib) {
  auto snap = channel.read();
  if (!snap) {
    return false;
  }
  for (const auto& vm : snap->vms) {
    (void)channel.push(vm.name, target_kib);
  }
  const auto idle = [&] {
    for (const auto& [path, link] : channel.links()) {
      if (link->busy()) {
        return false;
      }
    }
    return true;
  };
  // Handler by handler, so the clock stops when the last session ends (an exclusive link's
  // connection always has a read waiting: running for a fixed slice would time the slice).
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (!idle()) {
    if (std::chrono::steady_clock::now() >= end) {
      return false;
    }
    if (io.stopped()) {
      io.restart();
    }
    io.run_one_for(std::chrono::milliseconds(100));
  }
  return true;
}

void BM_QmpTick(benchmark::State& state, const char* mode) {
  spdlog::set_level(spdlog::level::off);
  const auto count = static_cast<int>(state.range(0));
  FakeHost host(count);
  balloond::config::QmpSpec spec;
  spec.sockets.push_back({.glob = host.glob(), .mode = mode, .name_from = "qemu"});
  spec.deadline_s = 0.5;
  boost::asio::io_context io;
  balloond::QmpChannel channel(io, spec);
  int64_t target_kib = 768 * kKibPerMib;
  for (int i = 0; i < 3; ++i) {  // discovery, facts, first reads
    tick(io, channel, target_kib);
  }
  if (channel.read()->vms.size() != static_cast<size_t>(count)) {
    state.SkipWithError("not every fake QEMU was read");
    return;
  }
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores)
    target_kib = target_kib == 768 * kKibPerMib ? 640 * kKibPerMib : 768 * kKibPerMib;
    if (!tick(io, channel, target_kib)) {
      state.SkipWithError("a tick did not finish within 3 s");
      return;
    }
  }
  state.SetItemsProcessed(state.iterations() * count);
}
BENCHMARK_CAPTURE(BM_QmpTick, shared, "shared")
    ->Arg(1)
    ->Arg(10)
    ->Arg(50)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_QmpTick, exclusive, "exclusive")
    ->Arg(1)
    ->Arg(10)
    ->Arg(50)
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
