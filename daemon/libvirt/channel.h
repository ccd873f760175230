// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/spec.h"
#include "daemon/channel.h"
#include "daemon/libvirt/api.h"
#include "daemon/libvirt/worker.h"

namespace balloond {

// How long the daemon's thread waits for the libvirt worker. Not configuration: the defaults are
// what the daemon uses; tests pass their own.
struct LibvirtWaits {
  // read() for the stats call it starts: long enough for the usual call (about 1 ms, 15 ms for
  // 1,000 domains on the test driver) to give fresh numbers, short enough that the control socket
  // never notices a libvirtd that hangs (the status must answer within 100 ms).
  std::chrono::milliseconds read{40};
  // The destructor, for the calls still queued (on_exit: restore's pushes) to run.
  std::chrono::milliseconds stop{10000};
};

// The channel to libvirtd (qemu:///system, xen:///, test:///...). The daemon's controller calls
// read() once per tick and push() per changed target, on the daemon's thread; the libvirt calls
// themselves run on one worker, in order (libvirt::Session, libvirt::Worker), on libvirt's event
// thread for the real API (Api::workerHost).
//
// read() starts a read on the worker (events, connect with backoff, one bulk stats call) and
// waits up to LibvirtWaits::read for it, unless one is still running (never two at once, and
// that one is not waited for again). A read that finishes in time gives this tick's snapshot;
// one that finishes later gives the next tick's (each finished read is returned once). While a read
// is still running, read() returns the last snapshot again with every VM marked unread ("libvirt
// stats call running for 12 s"), which the controller treats as stale: it decides and pushes
// nothing for them. With no snapshot to fall back on (none yet, or the last read failed), read()
// fails, as it does when libvirtd is unreachable.
//
// push() queues the target behind the calls already queued and returns Ok: a request, not a
// result. A push that fails on the worker is logged there (push-failed) and handed to the
// controller by takeFailedPushes(), which takes the target back so it is tried again.
//
// Threads: the daemon's thread never calls libvirt; it posts jobs and waits for read results on
// a mutex and condition variable. The worker runs every Api call (open, stats, domain XML and
// sizes, set memory, stats period, node memory, events, close) on libvirt's event-loop thread
// (daemon/libvirt/api.cc), where libvirt's events also arrive and are only queued until a read
// takes them (while a call hangs, they wait for it). A hung call cannot be interrupted (virConnectClose from another thread only drops a
// reference; the call keeps its own), so the destructor waits LibvirtWaits::stop for the queue
// to drain, then logs libvirt-worker-abandoned and detaches the worker, which finishes its call
// alone and frees the connection then; if the process exits first, the kernel closes the socket.
class LibvirtChannel : public Channel {
 public:
  using Clock = std::function<double()>;  // wall-clock seconds (libvirt's last-update is one)

  LibvirtChannel(std::unique_ptr<libvirt::Api> api, config::LibvirtSpec spec, Clock clock = {},
                 LibvirtWaits waits = {});
  ~LibvirtChannel() override;
  LibvirtChannel(const LibvirtChannel&) = delete;
  LibvirtChannel& operator=(const LibvirtChannel&) = delete;
  LibvirtChannel(LibvirtChannel&&) = delete;
  LibvirtChannel& operator=(LibvirtChannel&&) = delete;

  [[nodiscard]] std::string name() const override { return "libvirt"; }
  Result<Snapshot> read() override;
  Status push(const std::string& vm, int64_t target_kib) override;
  std::vector<FailedPush> takeFailedPushes() override;

  // Waits until every call queued so far has run, up to `timeout`; false if one still runs.
  bool waitIdle(std::chrono::milliseconds timeout);

 private:
  struct Core;
  // Why the read asked for has not finished, at `now`: what the worker is calling, and how long
  // the read has waited ("stats call running for 12 s"). Under the core's mutex.
  std::string readPending(double now) const;

  Clock clock_;
  LibvirtWaits waits_;
  std::shared_ptr<Core> core_;    // shared with the jobs: a detached worker keeps it alive
  std::optional<Snapshot> last_;  // the last snapshot read() returned; none after a failed read
  libvirt::Worker worker_;        // last: stopped before the rest goes; on the API's host
};

}  // namespace balloond
