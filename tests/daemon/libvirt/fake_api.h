// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "daemon/libvirt/api.h"

namespace balloond::testing {

// Where a fake call waits while the test keeps it closed: a libvirtd that takes as long as the
// test likes, deterministically. Counts the calls that arrived, so the test knows one is held.
// Shared (shared_ptr) between the fake and the test, so it outlives a fake that a detached worker
// destroys late.
class Gate {
 public:
  void close() {
    const std::lock_guard lock(mutex_);
    closed_ = true;
  }
  void open() {
    const std::lock_guard lock(mutex_);
    closed_ = false;
    changed_.notify_all();
  }
  // The fake's side: counts the arrival, then waits while the gate is closed.
  void pass() {
    std::unique_lock lock(mutex_);
    ++arrived_;
    changed_.notify_all();
    changed_.wait(lock, [this] { return !closed_; });
  }
  // The test's side: waits until `n` calls have arrived in all. Bounded, so that a broken test
  // fails instead of hanging; the bound is never what a passing test relies on.
  bool waitArrivals(int n, std::chrono::seconds bound = std::chrono::seconds(30)) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, bound, [&] { return arrived_ >= n; });
  }
  int arrivals() const {
    const std::lock_guard lock(mutex_);
    return arrived_;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  bool closed_ = false;
  int arrived_ = 0;
};

// The libvirt seam, scripted: a set of running domains with stats and XML, events to deliver,
// errors to inject per call and per VM. Records every mutating call. Not thread-safe: a test
// touches it only while the channel's worker is idle (waitIdle) or held at a gate; the journal
// and the gates outlive it.
class FakeLibvirtApi : public libvirt::Api {
 public:
  FakeLibvirtApi() = default;
  ~FakeLibvirtApi() override { gone->pass(); }
  FakeLibvirtApi(const FakeLibvirtApi&) = delete;
  FakeLibvirtApi& operator=(const FakeLibvirtApi&) = delete;
  FakeLibvirtApi(FakeLibvirtApi&&) = delete;
  FakeLibvirtApi& operator=(FakeLibvirtApi&&) = delete;

  struct Domain {
    std::map<std::string, int64_t> values;  // the stats record
    std::string xml = "<domain><devices><memballoon model='virtio'/></devices></domain>";
  };

  libvirt::CallError open(const std::string& uri) override {
    ++opens;
    opened_uri = uri;
    journal->push_back("open");
    if (!reachable) {
      return {libvirt::ErrorKind::kConnection, "Failed to connect socket: No such file"};
    }
    is_open = true;
    return {};
  }
  void close() override {
    if (is_open) {
      ++closes;
      journal->push_back("close");
    }
    is_open = false;
  }
  libvirt::CallError allDomainStats(bool nowait, std::vector<libvirt::DomainRecord>& out) override {
    ++stats_calls;
    journal->push_back("stats");
    stats_gate->pass();
    last_nowait = nowait;
    out.clear();
    if (!is_open || !reachable) {
      return {libvirt::ErrorKind::kConnection, "no connection"};
    }
    if (nowait && !nowait_supported) {
      return {libvirt::ErrorKind::kUnsupported, "unsupported flags (0x20000000)"};
    }
    for (const auto& [name, d] : domains) {
      out.push_back({name, d.values});
    }
    return {};
  }
  libvirt::CallError domainMemory(const std::string& vm, int64_t& max_kib,
                                  int64_t& actual_kib) override {
    auto it = domains.find(vm);
    if (it == domains.end()) {
      return {libvirt::ErrorKind::kNoDomain, "Domain not found"};
    }
    const auto& v = it->second.values;
    max_kib = v.contains("test.max") ? v.at("test.max") : 0;
    actual_kib = v.contains("test.cur") ? v.at("test.cur") : 0;
    return {};
  }
  libvirt::CallError domainXml(const std::string& vm, std::string& out) override {
    ++xml_calls;
    if (xml_fails.contains(vm)) {
      return {libvirt::ErrorKind::kOther, "internal error: cannot format XML"};
    }
    auto it = domains.find(vm);
    if (it == domains.end()) {
      return {libvirt::ErrorKind::kNoDomain, "Domain not found"};
    }
    out = it->second.xml;
    return {};
  }
  libvirt::CallError setMemory(const std::string& vm, int64_t kib) override {
    journal->push_back("set-memory " + vm + " " + std::to_string(kib));
    push_gate->pass();
    if (vanish_on_push.contains(vm)) {
      domains.erase(vm);
    }
    if (!domains.contains(vm)) {
      return {libvirt::ErrorKind::kNoDomain, "Domain not found: no domain with matching name"};
    }
    if (push_fails.contains(vm)) {
      return {libvirt::ErrorKind::kOther, "internal error: unable to execute QEMU command"};
    }
    pushes.emplace_back(vm, kib);
    return {};
  }
  libvirt::CallError setStatsPeriod(const std::string& vm, int seconds) override {
    if (!domains.contains(vm)) {
      return {libvirt::ErrorKind::kNoDomain, "Domain not found"};
    }
    periods.emplace_back(vm, seconds);
    return {};
  }
  libvirt::CallError nodeMemory(HostSample& out) override {
    out.total_kib = int64_t{32} * 1024 * 1024;
    out.available_kib = int64_t{16} * 1024 * 1024;
    return {};
  }
  std::vector<libvirt::Event> takeEvents() override { return std::exchange(events, {}); }

  // Adds a running domain with a balloon, fresh guest stats (at `now`) and sizes in MiB.
  Domain& add(const std::string& name, int64_t max_mib, int64_t actual_mib, int64_t avail_mib,
              double now) {
    Domain& d = domains[name];
    d.values = {{"state.state", 1},
                {"state.reason", 1},
                {"balloon.maximum", max_mib * 1024},
                {"balloon.current", actual_mib * 1024},
                {"balloon.available", (max_mib - 50) * 1024},  // libvirt: the guest's MemTotal
                {"balloon.usable", avail_mib * 1024},          // libvirt: MemAvailable
                {"balloon.unused", avail_mib * 1024},
                {"balloon.last-update", static_cast<int64_t>(now)}};
    d.xml = "<domain type='kvm'><name>" + name +
            "</name><devices><memballoon model='virtio'><stats period='2'/></memballoon></devices>"
            "</domain>";
    return d;
  }

  bool reachable = true;
  bool is_open = false;
  bool nowait_supported = true;
  bool last_nowait = false;
  std::string opened_uri;
  int opens = 0;
  int closes = 0;
  int stats_calls = 0;
  int xml_calls = 0;
  std::map<std::string, Domain> domains;
  std::vector<libvirt::Event> events;
  std::set<std::string> xml_fails;
  std::set<std::string> push_fails;
  std::set<std::string> vanish_on_push;
  std::vector<std::pair<std::string, int64_t>> pushes;
  std::vector<std::pair<std::string, int>> periods;
  // Shared with the test: every open, close, stats call and set-memory, in order; the gates the
  // stats call and set-memory wait at; and one the fake passes when it is destroyed.
  std::shared_ptr<std::vector<std::string>> journal = std::make_shared<std::vector<std::string>>();
  std::shared_ptr<Gate> stats_gate = std::make_shared<Gate>();
  std::shared_ptr<Gate> push_gate = std::make_shared<Gate>();
  std::shared_ptr<Gate> gone = std::make_shared<Gate>();
};

}  // namespace balloond::testing
