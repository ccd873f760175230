// SPDX-License-Identifier: Apache-2.0
#include "daemon/libvirt/worker.h"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <utility>

namespace balloond::libvirt {

// What the thread and its owner share; the thread keeps it alive after a detach.
struct Worker::State {
  std::mutex mutex;
  std::condition_variable changed;  // a job was posted or finished, or the thread must end
  std::deque<std::function<void()>> jobs;
  bool busy = false;      // a job is running
  bool stopping = false;  // no more posts
  bool quit = false;      // the thread ends once idle

  // On a host's thread: runs every queued job, then returns to the host's loop.
  void drain() {
    std::unique_lock lock(mutex);
    while (!jobs.empty()) {
      runOne(lock);
    }
  }

  // The next job, with `lock` released while it runs.
  void runOne(std::unique_lock<std::mutex>& lock) {
    std::function<void()> job = std::move(jobs.front());
    jobs.pop_front();
    busy = true;
    lock.unlock();
    job();
    job = nullptr;  // what it captured goes now, outside the lock
    lock.lock();
    busy = false;
    changed.notify_all();
  }

  void run() {
    std::unique_lock lock(mutex);
    for (;;) {
      changed.wait(lock, [this] { return quit || !jobs.empty(); });
      if (jobs.empty()) {
        return;  // quit, and nothing left
      }
      runOne(lock);
    }
  }
};

Worker::Worker(const HostFactory& host) : state_(std::make_shared<State>()) {
  if (host) {
    host_ = host([state = state_] { state->drain(); });
  }
  if (!host_) {  // none asked for, or the host could not take it
    thread_ = std::thread([state = state_] { state->run(); });
  }
}

Worker::~Worker() {
  if (thread_.joinable() || host_) {
    stop(std::chrono::milliseconds(0));
  }
}

void Worker::post(std::function<void()> job) {
  bool idle = false;
  {
    const std::lock_guard lock(state_->mutex);
    if (state_->stopping) {
      return;
    }
    // A busy thread looks at the queue again before it waits: only an idle one needs waking (a
    // wake per post costs the poster a system call, per push on a tick that sets many targets).
    idle = state_->jobs.empty() && !state_->busy;
    state_->jobs.push_back(std::move(job));
    if (idle && !host_) {
      state_->changed.notify_all();
    }
  }
  if (idle && host_) {
    host_->wake();  // outside the lock: the host takes its own
  }
}

bool Worker::waitIdle(std::chrono::milliseconds timeout) {
  std::unique_lock lock(state_->mutex);
  return state_->changed.wait_for(lock, timeout,
                                  [this] { return state_->jobs.empty() && !state_->busy; });
}

Worker::Stopped Worker::stop(std::chrono::milliseconds wait) {
  Stopped stopped;
  if (!thread_.joinable() && !host_) {
    return stopped;
  }
  std::deque<std::function<void()>> dropped;  // destroyed outside the lock
  {
    std::unique_lock lock(state_->mutex);
    state_->stopping = true;
    state_->changed.wait_for(lock, wait, [this] { return state_->jobs.empty() && !state_->busy; });
    stopped.dropped = state_->jobs.size();
    dropped.swap(state_->jobs);
    state_->quit = true;
    stopped.joined = !state_->busy;
    state_->changed.notify_all();
  }
  if (host_) {
    host_.reset();  // a job still running finishes on the host's thread, which keeps the State
  } else if (stopped.joined) {
    thread_.join();  // idle, with nothing queued: it ends at once
  } else {
    thread_.detach();  // the running job finishes alone; the thread's State outlives us
  }
  return stopped;
}

}  // namespace balloond::libvirt
