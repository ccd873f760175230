// SPDX-License-Identifier: Apache-2.0
#include "daemon/libvirt/worker.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "tests/daemon/libvirt/fake_api.h"

namespace balloond::libvirt {
namespace {

using namespace std::chrono_literals;
using balloond::testing::Gate;

// What the jobs did, in order; shared, so it outlives a detached worker.
struct Log {
  std::mutex mutex;
  std::vector<int> done;
  void add(int job) {
    const std::lock_guard lock(mutex);
    done.push_back(job);
  }
  std::vector<int> get() {
    const std::lock_guard lock(mutex);
    return done;
  }
};

TEST(WorkerTest, RunsJobsOneAtATimeInTheOrderPosted) {
  auto log = std::make_shared<Log>();
  Worker worker;
  const auto poster = std::this_thread::get_id();
  std::thread::id ran_on;
  for (int i = 0; i < 100; ++i) {
    worker.post([log, i, &ran_on] {
      ran_on = std::this_thread::get_id();
      log->add(i);
    });
  }
  ASSERT_TRUE(worker.waitIdle(30s));
  std::vector<int> expected(100);
  for (int i = 0; i < 100; ++i) {
    expected[i] = i;
  }
  EXPECT_EQ(log->get(), expected);
  EXPECT_NE(ran_on, poster);
}

TEST(WorkerTest, StopLetsQueuedJobsRunAndJoins) {
  auto log = std::make_shared<Log>();
  auto gate = std::make_shared<Gate>();
  Worker worker;
  gate->close();
  worker.post([log, gate] {
    gate->pass();
    log->add(1);
  });
  worker.post([log] { log->add(2); });
  ASSERT_TRUE(gate->waitArrivals(1));
  EXPECT_FALSE(worker.waitIdle(0ms));
  gate->open();
  const Worker::Stopped stopped = worker.stop(30s);
  EXPECT_TRUE(stopped.joined);
  EXPECT_EQ(stopped.dropped, 0U);
  EXPECT_EQ(log->get(), (std::vector<int>{1, 2}));
  worker.post([log] { log->add(3); });  // ignored once stopped
  EXPECT_EQ(log->get(), (std::vector<int>{1, 2}));
}

// A job that hangs: stop() gives up after its wait, drops the jobs behind it, and detaches; the
// job finishes alone later, and what it captured is freed then.
TEST(WorkerTest, StopDetachesFromAHungJobAndDropsTheRest) {
  auto log = std::make_shared<Log>();
  auto gate = std::make_shared<Gate>();
  auto freed = std::make_shared<Gate>();
  // Passed (counted) when the hung job's capture is destroyed.
  struct Capture {
    std::shared_ptr<Gate> freed;
    Capture(const Capture&) = delete;
    Capture& operator=(const Capture&) = delete;
    Capture(Capture&&) = delete;
    Capture& operator=(Capture&&) = delete;
    explicit Capture(std::shared_ptr<Gate> f) : freed(std::move(f)) {}
    ~Capture() { freed->pass(); }
  };
  {
    Worker worker;
    gate->close();
    auto capture = std::make_shared<Capture>(freed);
    worker.post([log, gate, capture] {
      gate->pass();
      log->add(1);
    });
    capture.reset();
    worker.post([log] { log->add(2); });
    worker.post([log] { log->add(3); });
    ASSERT_TRUE(gate->waitArrivals(1));
    const Worker::Stopped stopped = worker.stop(10ms);
    EXPECT_FALSE(stopped.joined);
    EXPECT_EQ(stopped.dropped, 2U);
  }
  EXPECT_EQ(freed->arrivals(), 0) << "the hung job still holds its capture";
  gate->open();
  ASSERT_TRUE(freed->waitArrivals(1));
  EXPECT_EQ(log->get(), std::vector<int>{1}) << "it finished; the dropped ones never ran";
}

TEST(WorkerTest, DestroyingAnIdleWorkerJoins) {
  auto log = std::make_shared<Log>();
  {
    Worker worker;
    worker.post([log] { log->add(1); });
    ASSERT_TRUE(worker.waitIdle(30s));
  }
  EXPECT_EQ(log->get(), std::vector<int>{1});
}

}  // namespace
}  // namespace balloond::libvirt
