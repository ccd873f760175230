// SPDX-License-Identifier: Apache-2.0
#include "daemon/libvirt/worker.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
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

// A stand-in for libvirt's event loop: one thread that calls a registered drain after each wake.
// A drain unregistered while it runs finishes (libvirt frees a timeout's data only afterwards).
class TestLoop {
 public:
  TestLoop() : thread_([this] { run(); }) {}
  ~TestLoop() {
    {
      const std::lock_guard lock(mutex_);
      quit_ = true;
    }
    changed_.notify_all();
    thread_.join();
  }
  TestLoop(const TestLoop&) = delete;
  TestLoop& operator=(const TestLoop&) = delete;
  TestLoop(TestLoop&&) = delete;
  TestLoop& operator=(TestLoop&&) = delete;

  Worker::HostFactory factory() {
    return [this](std::function<void()> drain) -> std::unique_ptr<Worker::Host> {
      const std::lock_guard lock(mutex_);
      const int id = next_id_++;
      drains_[id] = std::make_shared<std::function<void()>>(std::move(drain));
      return std::make_unique<Host>(this, id);
    };
  }
  [[nodiscard]] std::thread::id id() const { return thread_.get_id(); }

 private:
  class Host : public Worker::Host {
   public:
    Host(TestLoop* loop, int id) : loop_(loop), id_(id) {}
    ~Host() override {
      const std::lock_guard lock(loop_->mutex_);
      loop_->drains_.erase(id_);
    }
    Host(const Host&) = delete;
    Host& operator=(const Host&) = delete;
    Host(Host&&) = delete;
    Host& operator=(Host&&) = delete;
    void wake() override {
      {
        const std::lock_guard lock(loop_->mutex_);
        loop_->woken_.push_back(id_);
      }
      loop_->changed_.notify_all();
    }

   private:
    TestLoop* loop_;
    int id_;
  };

  void run() {
    std::unique_lock lock(mutex_);
    for (;;) {
      changed_.wait(lock, [this] { return quit_ || !woken_.empty(); });
      if (woken_.empty()) {
        return;
      }
      const int id = woken_.front();
      woken_.pop_front();
      auto it = drains_.find(id);
      if (it == drains_.end()) {
        continue;
      }
      const auto drain = it->second;
      lock.unlock();
      (*drain)();
      lock.lock();
    }
  }

  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<int, std::shared_ptr<std::function<void()>>> drains_;
  std::deque<int> woken_;
  int next_id_ = 0;
  bool quit_ = false;
  std::thread thread_;
};

// Every test runs with a thread of the worker's own and with the jobs on an event loop's thread.
class WorkerTest : public ::testing::TestWithParam<bool> {
 protected:
  [[nodiscard]] bool hosted() const { return GetParam(); }
  [[nodiscard]] Worker::HostFactory host() { return hosted() ? loop_->factory() : nullptr; }
  std::unique_ptr<TestLoop> loop_ = std::make_unique<TestLoop>();
};

INSTANTIATE_TEST_SUITE_P(OwnThreadAndHosted, WorkerTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& param_info) {
                           return param_info.param ? "OnAnEventLoop" : "OwnThread";
                         });

TEST_P(WorkerTest, RunsJobsOneAtATimeInTheOrderPosted) {
  auto log = std::make_shared<Log>();
  Worker worker(host());
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
  if (hosted()) {
    EXPECT_EQ(ran_on, loop_->id());
  }
}

// A host that cannot take the jobs (libvirt's loop refused the timeout): a thread of its own.
TEST(WorkerFallbackTest, AHostThatCannotTakeTheJobsLeavesThemToAThreadOfItsOwn) {
  auto log = std::make_shared<Log>();
  Worker worker([](const std::function<void()>&) { return nullptr; });
  worker.post([log] { log->add(1); });
  ASSERT_TRUE(worker.waitIdle(30s));
  EXPECT_EQ(log->get(), std::vector<int>{1});
}

TEST_P(WorkerTest, StopLetsQueuedJobsRunAndJoins) {
  auto log = std::make_shared<Log>();
  auto gate = std::make_shared<Gate>();
  Worker worker(host());
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

// A job that hangs: stop() gives up after its wait, drops the jobs behind it, and detaches (or
// leaves it to the host's thread); the job finishes alone later, and what it captured is freed
// then.
TEST_P(WorkerTest, StopDetachesFromAHungJobAndDropsTheRest) {
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
    Worker worker(host());
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

TEST_P(WorkerTest, DestroyingAnIdleWorkerJoins) {
  auto log = std::make_shared<Log>();
  {
    Worker worker(host());
    worker.post([log] { log->add(1); });
    ASSERT_TRUE(worker.waitIdle(30s));
  }
  EXPECT_EQ(log->get(), std::vector<int>{1});
}

}  // namespace
}  // namespace balloond::libvirt
