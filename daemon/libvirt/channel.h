// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "config/spec.h"
#include "daemon/channel.h"
#include "daemon/libvirt/api.h"
#include "daemon/libvirt/domain_xml.h"

namespace balloond {

// The channel to libvirtd (qemu:///system, xen:///, test:///...). The daemon's controller calls
// read() once per tick and push() per changed target, on the daemon's thread.
//
// read() takes the events libvirt queued since the last tick (balloon acknowledgements, VMs
// starting, stopping and migrating, the connection closing), then makes one
// virConnectGetAllDomainStats call for every running VM. While libvirtd is unreachable read()
// fails fast and reconnects with capped exponential backoff; the controller keeps its per-VM
// history, since a failed read forgets nothing. Each VM's own troubles (no balloon device, a
// driver that never reports, stats turned off, passthrough devices, migration) are reported once
// in the log and carried in the sample as an exclusion reason or a note.
//
// Threads: libvirt's events arrive on its event-loop thread (see daemon/libvirt/api.cc) and are only
// queued there; virConnectOpen runs on a short-lived thread; every other call runs on the
// caller's thread. So the stats call and the pushes do block the daemon's loop for one RPC
// each; NOWAIT keeps libvirtd from waiting on a busy domain's job meanwhile.
class LibvirtChannel : public Channel {
 public:
  using Clock = std::function<double()>;  // wall-clock seconds (libvirt's last-update is one)

  // With `background_connect`, virConnectOpen runs on a short-lived thread, so a libvirtd that
  // accepts but takes a minute to answer (it probes QEMU at start) never stalls the daemon's loop;
  // read() fails fast meanwhile. Tests pass false for determinism.
  LibvirtChannel(std::unique_ptr<libvirt::Api> api, config::LibvirtSpec spec, Clock clock = {},
                 bool background_connect = true);
  ~LibvirtChannel() override;
  LibvirtChannel(const LibvirtChannel&) = delete;
  LibvirtChannel& operator=(const LibvirtChannel&) = delete;
  LibvirtChannel(LibvirtChannel&&) = delete;
  LibvirtChannel& operator=(LibvirtChannel&&) = delete;

  [[nodiscard]] std::string name() const override { return "libvirt"; }
  Result<Snapshot> read() override;
  Status push(const std::string& vm, int64_t target_kib) override;

  // The acknowledgements heard from one VM: BALLOON_CHANGE events.
  struct Ack {
    int64_t actual_kib = 0;  // the latest actual the guest reported
    int64_t count = 0;       // events since the VM was first seen
    double last_s = 0;       // when the latest arrived
  };
  // Acknowledgements by VM name, updated by read().
  [[nodiscard]] const std::map<std::string, Ack>& acks() const { return acks_; }
  [[nodiscard]] bool connected() const { return connected_; }
  [[nodiscard]] int64_t reconnects() const { return reconnects_; }

 private:
  // What the channel keeps about one VM; survives reconnects.
  struct VmInfo {
    libvirt::DomainFacts facts;
    bool facts_known = false;      // facts come from the XML: fetched once per boot and connection
    bool migrating = false;        // paused for or by a migration, by event or by state
    double iterating_until_s = 0;  // live migration iterations seen until about then
    std::string reported;          // the conditions already logged, so each is logged once
    int64_t pushed_kib = 0;        // the last target pushed, 0 = none
    std::optional<GuestStats> last_guest;  // the latest report from the guest's driver
  };

  bool ensureConnected(double now, std::string& error);
  void disconnect(const std::string& why, double now);
  void takeEvents(double now);
  // Turns one stats record into a sample; false to leave the VM out of this snapshot.
  bool sampleFrom(const libvirt::DomainRecord& record, double now, VmSample& out);
  void learnFacts(const std::string& vm, VmInfo& info);
  void handleStatsPeriod(const std::string& vm, VmInfo& info, VmSample& out);
  // Logs `event` for a VM once until `key` is cleared from its reported set.
  static bool once(VmInfo& info, const std::string& key);

  std::unique_ptr<libvirt::Api> api_;
  config::LibvirtSpec spec_;
  Clock clock_;
  bool connected_ = false;
  bool nowait_ = true;  // cleared when the driver refuses the NOWAIT flag
  double backoff_s_ = 1;
  double next_attempt_s_ = 0;
  int64_t attempts_ = 0;
  int64_t reconnects_ = 0;
  bool ever_connected_ = false;
  bool background_connect_ = true;
  std::future<libvirt::CallError> connecting_;  // an open() in progress
  double connecting_since_s_ = 0;
  std::map<std::string, VmInfo> vms_;
  std::map<std::string, Ack> acks_;
};

}  // namespace balloond
