// SPDX-License-Identifier: Apache-2.0
#include "daemon/libvirt/channel.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <condition_variable>
#include <mutex>
#include <utility>

#include "daemon/libvirt/session.h"

namespace balloond {
namespace {

double wallSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

constexpr const char* kStatsCall = "stats call";

}  // namespace

// What the daemon's thread and the worker share. The session is the worker's alone; the rest is
// guarded by `mutex`.
struct LibvirtChannel::Core {
  Core(std::unique_ptr<libvirt::Api> api, config::LibvirtSpec spec)
      : session(std::move(api), std::move(spec)) {
    session.onCall([this](const std::string& what) { setCall(what); });
  }

  // The jobs, on the worker.
  void read(double now) {
    setCall(kStatsCall);
    Result<Snapshot> result = session.read(now);
    {
      const std::lock_guard lock(mutex);
      finished = std::move(result);
      reading = false;
      call.clear();
    }
    read_done.notify_all();
  }
  void push(const std::string& vm, int64_t target_kib, double now) {
    setCall("set-memory call for " + vm);
    const Status status = session.push(vm, target_kib, now);
    if (!status) {  // logged now, counted by the controller when it takes the failures
      spdlog::warn("push-failed vm={} to_mib={} error=\"{}\"", vm, target_kib / kKibPerMib,
                   status.error().message);
    }
    const std::lock_guard lock(mutex);
    call.clear();
    if (!status) {
      failed.push_back({vm, target_kib, status.error().message});
    }
  }
  void setCall(const std::string& what) {
    const std::lock_guard lock(mutex);
    call = what;
  }

  libvirt::Session session;
  std::mutex mutex;
  std::condition_variable read_done;
  bool reading = false;                      // a read is queued or running
  double read_asked_s = 0;                   // when read() asked for it
  std::optional<Result<Snapshot>> finished;  // the latest finished read, not yet returned
  std::string call;                          // what the worker is calling now
  std::vector<FailedPush> failed;            // pushes that failed, not yet taken
};

LibvirtChannel::LibvirtChannel(std::unique_ptr<libvirt::Api> api, config::LibvirtSpec spec,
                               Clock clock, LibvirtWaits waits)
    : clock_(std::move(clock)),
      waits_(waits),
      core_(std::make_shared<Core>(std::move(api), std::move(spec))),
      worker_(core_->session.workerHost()) {
  if (!clock_) {
    clock_ = wallSeconds;
  }
}

LibvirtChannel::~LibvirtChannel() {
  worker_.post([core = core_] { core->session.close(); });
  const libvirt::Worker::Stopped stopped = worker_.stop(waits_.stop);
  if (!stopped.joined) {
    std::string call;
    {
      const std::lock_guard lock(core_->mutex);
      call = core_->call;
    }
    spdlog::warn(
        "libvirt-worker-abandoned call=\"{}\" dropped_calls={} waited_s={:g}: the call cannot be "
        "interrupted; it finishes alone and closes the connection",
        call, stopped.dropped, std::chrono::duration<double>(waits_.stop).count());
  }
}

std::string LibvirtChannel::readPending(double now) const {
  // Under core_->mutex.
  const int waited_s = static_cast<int>(std::max(0.0, now - core_->read_asked_s));
  if (core_->call.empty() || core_->call == kStatsCall || core_->call.starts_with("connect to ")) {
    return fmt::format("{} running for {} s", core_->call.empty() ? kStatsCall : core_->call,
                       waited_s);
  }
  return fmt::format("stats call waiting for {} s behind a {}", waited_s, core_->call);
}

Result<Snapshot> LibvirtChannel::read() {
  const double now = clock_();
  std::unique_lock lock(core_->mutex);
  if (!core_->reading) {
    core_->reading = true;
    core_->read_asked_s = now;
    worker_.post([core = core_, now] { core->read(now); });
    // The usual call takes a millisecond: wait for it, so this tick has fresh numbers. A read
    // that an earlier tick started and that is still running is not waited for again.
    core_->read_done.wait_for(lock, waits_.read, [this] { return !core_->reading; });
  }
  if (core_->finished) {
    Result<Snapshot> result = std::move(*core_->finished);
    core_->finished.reset();
    lock.unlock();
    if (!result) {
      last_.reset();
      return result;
    }
    result->time_s = now;  // it may have finished after an earlier tick: the clock moves on
    last_ = *result;
    return result;
  }
  const std::string pending = readPending(now);
  lock.unlock();
  if (!last_) {
    return Error{"libvirt: " + pending};
  }
  Snapshot again = *last_;
  again.time_s = now;
  for (auto& vm : again.vms) {
    vm.unread_reason = "libvirt " + pending;
  }
  return again;
}

Status LibvirtChannel::push(const std::string& vm, int64_t target_kib) {
  worker_.post([core = core_, vm, target_kib, now = clock_()] { core->push(vm, target_kib, now); });
  return Ok{};
}

std::vector<Channel::FailedPush> LibvirtChannel::takeFailedPushes() {
  const std::lock_guard lock(core_->mutex);
  return std::exchange(core_->failed, {});
}

bool LibvirtChannel::waitIdle(std::chrono::milliseconds timeout) {
  return worker_.waitIdle(timeout);
}

}  // namespace balloond
