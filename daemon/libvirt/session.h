// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "config/spec.h"
#include "daemon/libvirt/api.h"
#include "daemon/libvirt/domain_xml.h"
#include "proto/result.h"
#include "proto/types.h"

namespace balloond::libvirt {

// balloond's conversation with libvirtd (qemu:///system, xen:///, test:///...): every call it
// makes through the Api, and what it remembers between them. Single-threaded: the libvirt
// channel (daemon/libvirt/channel.h) runs it on its worker thread, one call at a time; tests
// drive it directly.
//
// read() takes the events libvirt queued since the last read (balloon acknowledgements, VMs
// starting, stopping and migrating, the connection closing), connects when due, then makes one
// virConnectGetAllDomainStats call for every running VM. While libvirtd is unreachable read()
// fails fast and reconnects with capped exponential backoff; a failed read forgets nothing. Each
// VM's own troubles (no balloon device, a driver that never reports, stats turned off,
// passthrough devices, migration) are reported once in the log and carried in the sample as an
// exclusion reason or a note.
class Session {
 public:
  // Told what the session is about to call, before a call that may take long: "connect to URI"
  // or "stats call". Runs on the session's thread.
  using CallHook = std::function<void(const std::string& call)>;

  Session(std::unique_ptr<Api> api, config::LibvirtSpec spec);
  // Closes the connection.
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  Session(Session&&) = delete;
  Session& operator=(Session&&) = delete;

  // Every running VM with its balloon stats and the host's memory, at `now` (wall-clock seconds).
  Result<Snapshot> read(double now);
  // Asks libvirt to move the VM's balloon to `target_kib`: Ok when libvirt took it or the VM is
  // gone (routine), else why not (not connected, migrating, the call failed).
  Status push(const std::string& vm, int64_t target_kib, double now);
  // Closes the connection; the next read() connects again.
  void close();
  void onCall(CallHook hook) { on_call_ = std::move(hook); }
  // Where the calls should run (Api::workerHost).
  [[nodiscard]] Worker::HostFactory workerHost() const { return api_->workerHost(); }

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
  // What the session keeps about one VM; survives reconnects.
  struct VmInfo {
    DomainFacts facts;
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
  bool sampleFrom(const DomainRecord& record, double now, VmSample& out);
  void learnFacts(const std::string& vm, VmInfo& info);
  void handleStatsPeriod(const std::string& vm, VmInfo& info, VmSample& out);
  // Logs `event` for a VM once until `key` is cleared from its reported set.
  static bool once(VmInfo& info, const std::string& key);
  void calling(const std::string& call) const;

  std::unique_ptr<Api> api_;
  config::LibvirtSpec spec_;
  CallHook on_call_;
  bool connected_ = false;
  bool nowait_ = true;  // cleared when the driver refuses the NOWAIT flag
  double backoff_s_ = 1;
  double next_attempt_s_ = 0;
  int64_t attempts_ = 0;
  int64_t reconnects_ = 0;
  bool ever_connected_ = false;
  std::map<std::string, VmInfo> vms_;
  std::map<std::string, Ack> acks_;
};

}  // namespace balloond::libvirt
