// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <thread>

namespace balloond::libvirt {

// One thread that runs the jobs posted to it, one at a time, in the order they were posted. The
// libvirt channel posts every libvirt call here, so a libvirtd that takes 30 s to answer holds up
// this thread and the calls queued behind it, never the daemon's loop.
//
// A job that hangs cannot be interrupted (a libvirt RPC waits for its answer). stop() therefore
// waits a bounded time and then detaches the thread: the running job finishes alone, whenever its
// call returns, and what it owns is freed then; the jobs that had not started are dropped. So a
// job must own what it touches (shared_ptr captures), never point into its poster.
class Worker {
 public:
  Worker();
  // stop() with no wait, unless stop() was called already.
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;
  Worker(Worker&&) = delete;
  Worker& operator=(Worker&&) = delete;

  // Queues a job to run after every job posted before it. Ignored once stop() has been called.
  void post(std::function<void()> job);
  // Waits until every job posted so far has run, up to `timeout`; false if one is still running.
  bool waitIdle(std::chrono::milliseconds timeout);

  // How stop() ended.
  struct Stopped {
    bool joined = true;       // the thread ended; false: detached with a job still running
    std::size_t dropped = 0;  // jobs that never started
  };
  // Lets the queued jobs run for up to `wait`, then drops those that have not started and ends the
  // thread: joined when it is idle, else detached with its job still running.
  Stopped stop(std::chrono::milliseconds wait);

 private:
  struct State;
  std::shared_ptr<State> state_;
  std::thread thread_;
};

}  // namespace balloond::libvirt
