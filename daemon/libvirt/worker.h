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
//
// The jobs can also run on another thread's event loop (a Host) instead of a thread of the
// worker's own: libvirt's, where a libvirt call wakes no other thread (made anywhere else, every
// call wakes libvirt's event thread several times to re-arm its socket and keepalive timer). Order,
// waitIdle() and stop() are the same; stop() then has no thread to end: it leaves a job still
// running to the host's thread.
class Worker {
 public:
  // An event loop's thread that runs a worker's jobs: it calls the `drain` it was made with soon
  // after each wake(), from any thread. Destroying it unregisters `drain` (a drain already running
  // finishes).
  class Host {
   public:
    Host() = default;
    virtual ~Host() = default;
    Host(const Host&) = delete;
    Host& operator=(const Host&) = delete;
    Host(Host&&) = delete;
    Host& operator=(Host&&) = delete;
    virtual void wake() = 0;
  };
  // Makes the Host that will call `drain`; empty: the worker has a thread of its own.
  using HostFactory = std::function<std::unique_ptr<Host>(std::function<void()> drain)>;

  explicit Worker(const HostFactory& host = {});
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
  std::unique_ptr<Host> host_;  // or
  std::thread thread_;
};

}  // namespace balloond::libvirt
