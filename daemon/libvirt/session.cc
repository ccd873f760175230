// SPDX-License-Identifier: Apache-2.0
#include "daemon/libvirt/session.h"

#include <libvirt/libvirt.h>  // enum values only: events, states, close reasons
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <utility>

namespace balloond::libvirt {
namespace {

constexpr double kFirstBackoffS = 1;
// A live migration reports an iteration every pass; without one for this long it is over.
constexpr double kMigrationIterationHoldS = 10;

std::optional<int64_t> field(const DomainRecord& r, const char* name) {
  auto it = r.values.find(name);
  if (it == r.values.end()) {
    return std::nullopt;
  }
  return it->second;
}

const char* closeReason(int reason) {
  switch (reason) {
    case VIR_CONNECT_CLOSE_REASON_ERROR: return "error";
    case VIR_CONNECT_CLOSE_REASON_EOF: return "eof";
    case VIR_CONNECT_CLOSE_REASON_KEEPALIVE: return "keepalive";
    case VIR_CONNECT_CLOSE_REASON_CLIENT: return "client";
    default: return "unknown";
  }
}

const char* lifecycleName(int event) {
  switch (event) {
    case VIR_DOMAIN_EVENT_DEFINED: return "defined";
    case VIR_DOMAIN_EVENT_UNDEFINED: return "undefined";
    case VIR_DOMAIN_EVENT_STARTED: return "started";
    case VIR_DOMAIN_EVENT_SUSPENDED: return "suspended";
    case VIR_DOMAIN_EVENT_RESUMED: return "resumed";
    case VIR_DOMAIN_EVENT_STOPPED: return "stopped";
    case VIR_DOMAIN_EVENT_SHUTDOWN: return "shutdown";
    case VIR_DOMAIN_EVENT_PMSUSPENDED: return "pmsuspended";
    case VIR_DOMAIN_EVENT_CRASHED: return "crashed";
    default: return "other";
  }
}

bool pausedForMigration(int64_t state, int64_t reason) {
  return state == VIR_DOMAIN_PAUSED &&
         (reason == VIR_DOMAIN_PAUSED_MIGRATION || reason == VIR_DOMAIN_PAUSED_POSTCOPY ||
          reason == VIR_DOMAIN_PAUSED_POSTCOPY_FAILED);
}

}  // namespace

Session::Session(std::unique_ptr<Api> api, config::LibvirtSpec spec)
    : api_(std::move(api)), spec_(std::move(spec)) {}

Session::~Session() {
  api_->close();
}

void Session::close() {
  api_->close();
  connected_ = false;
}

void Session::calling(const std::string& call) const {
  if (on_call_) {
    on_call_(call);
  }
}

bool Session::once(VmInfo& info, const std::string& key) {
  if (info.reported.find('|' + key + '|') != std::string::npos) {
    return false;
  }
  info.reported += '|' + key + '|';
  return true;
}

bool Session::ensureConnected(double now, std::string& error) {
  if (connected_) {
    return true;
  }
  if (now < next_attempt_s_) {
    error = "libvirt: not connected to " + spec_.uri + ", next attempt in " +
            std::to_string(static_cast<int>(std::ceil(next_attempt_s_ - now))) + " s";
    return false;
  }
  ++attempts_;
  calling("connect to " + spec_.uri);
  const CallError e = api_->open(spec_.uri);
  if (e) {
    next_attempt_s_ = now + backoff_s_;
    spdlog::warn("libvirt-connect-failed uri={} attempt={} retry_in_s={:.0f} error=\"{}\"",
                 spec_.uri, attempts_, backoff_s_, e.message);
    backoff_s_ = std::min(backoff_s_ * 2, std::max(kFirstBackoffS, spec_.reconnect_max_s));
    error = "libvirt: cannot connect to " + spec_.uri + ": " + e.message;
    return false;
  }
  connected_ = true;
  backoff_s_ = kFirstBackoffS;
  if (ever_connected_) {
    ++reconnects_;
  }
  ever_connected_ = true;
  spdlog::info("libvirt-connected uri={} attempt={} reconnects={}", spec_.uri, attempts_,
               reconnects_);
  attempts_ = 0;
  // Events were lost while away and the domains may have changed: read every XML again.
  for (auto& [name, info] : vms_) {
    info.facts_known = false;
  }
  return true;
}

void Session::disconnect(const std::string& why, double now) {
  if (!connected_) {
    return;
  }
  api_->close();
  connected_ = false;
  next_attempt_s_ = now + backoff_s_;
  spdlog::warn("libvirt-disconnected uri={} reason={} retry_in_s={:.0f}", spec_.uri, why,
               backoff_s_);
}

void Session::takeEvents(double now) {
  for (const Event& e : api_->takeEvents()) {
    switch (e.kind) {
      case Event::Kind::kClosed:
        disconnect(std::string("closed-") + closeReason(e.detail), now);
        break;
      case Event::Kind::kBalloonChange: {
        Ack& ack = acks_[e.vm];
        ack.actual_kib = e.actual_kib;
        ++ack.count;
        ack.last_s = e.at_s;
        auto it = vms_.find(e.vm);
        const int64_t target = it == vms_.end() ? 0 : it->second.pushed_kib;
        spdlog::info("balloon-ack vm={} actual_mib={} target_mib={} acks={}", e.vm,
                     e.actual_kib / kKibPerMib, target / kKibPerMib, ack.count);
        break;
      }
      case Event::Kind::kMigrationIteration:
        vms_[e.vm].iterating_until_s = now + kMigrationIterationHoldS;
        break;
      case Event::Kind::kLifecycle: {
        spdlog::info("vm-lifecycle vm={} event={} detail={}", e.vm, lifecycleName(e.event),
                     e.detail);
        if (e.event == VIR_DOMAIN_EVENT_STOPPED || e.event == VIR_DOMAIN_EVENT_CRASHED ||
            e.event == VIR_DOMAIN_EVENT_UNDEFINED) {
          vms_.erase(e.vm);  // the next snapshot leaves it out; the controller forgets it then
          acks_.erase(e.vm);
        } else if (e.event == VIR_DOMAIN_EVENT_STARTED) {
          VmInfo& info = vms_[e.vm];
          info = VmInfo{};  // a new boot: new facts
          info.migrating = e.detail == VIR_DOMAIN_EVENT_STARTED_MIGRATED;
        } else if (e.event == VIR_DOMAIN_EVENT_DEFINED) {
          vms_[e.vm].facts_known = false;
        } else if (e.event == VIR_DOMAIN_EVENT_SUSPENDED) {
          if (e.detail == VIR_DOMAIN_EVENT_SUSPENDED_MIGRATED ||
              e.detail == VIR_DOMAIN_EVENT_SUSPENDED_POSTCOPY) {
            vms_[e.vm].migrating = true;
          }
        } else if (e.event == VIR_DOMAIN_EVENT_RESUMED) {
          vms_[e.vm].migrating = false;
        }
        break;
      }
    }
  }
}

void Session::learnFacts(const std::string& vm, VmInfo& info) {
  std::string xml;
  const CallError e = api_->domainXml(vm, xml);
  if (e) {
    if (e.kind == ErrorKind::kNoDomain) {
      return;  // gone since the stats call: routine
    }
    if (once(info, "xml-failed")) {
      spdlog::warn("vm-xml-failed vm={} error=\"{}\"", vm, e.message);
    }
    return;
  }
  info.facts = parseDomainXml(xml);
  info.facts_known = true;
}

void Session::handleStatsPeriod(const std::string& vm, VmInfo& info, VmSample& out) {
  const int configured = static_cast<int>(spec_.stats_period_s);
  const int period = info.facts.stats_period_s.value_or(0);
  if (period > 0) {
    out.stats_period_s = period;
    if (spec_.set_stats_period && period != configured && once(info, "period-kept")) {
      spdlog::info("stats-period-kept vm={} period_s={} configured_s={} reason=set-by-operator", vm,
                   period, configured);
    }
    return;
  }
  out.stats_period_s = 0;
  // Tried once per boot: a driver that refuses it is reported, not asked again every tick.
  if (spec_.set_stats_period && configured > 0 && once(info, "period-tried")) {
    const CallError e = api_->setStatsPeriod(vm, configured);
    if (!e) {
      info.facts.stats_period_s = configured;
      out.stats_period_s = configured;
      spdlog::info("stats-period-enabled vm={} period_s={}", vm, configured);
      return;
    }
    if (e.kind != ErrorKind::kNoDomain && once(info, "period-failed")) {
      spdlog::warn("stats-period-failed vm={} period_s={} error=\"{}\"", vm, configured, e.message);
    }
  } else if (!spec_.set_stats_period && once(info, "stats-off")) {
    spdlog::warn(
        "stats-off vm={} reason=stats-period-0 hint=\"set channel.libvirt.set_stats_period"
        " or <memballoon><stats period='N'/>\"",
        vm);
  }
  out.note = "stats-off";
}

bool Session::sampleFrom(const DomainRecord& r, double now, VmSample& out) {
  VmInfo& info = vms_[r.name];
  if (!info.facts_known) {
    learnFacts(r.name, info);
    if (!info.facts_known) {
      return false;  // vanished, or no XML this tick (logged): try again next tick
    }
  }
  out.name = r.name;
  const int64_t state = field(r, "state.state").value_or(VIR_DOMAIN_RUNNING);
  const int64_t reason = field(r, "state.reason").value_or(0);
  out.running =
      state == VIR_DOMAIN_RUNNING || state == VIR_DOMAIN_PAUSED || state == VIR_DOMAIN_BLOCKED;
  if (!out.running) {
    return false;
  }
  out.max_kib = field(r, "balloon.maximum").value_or(0);
  out.actual_kib = field(r, "balloon.current").value_or(out.max_kib);
  out.rss_kib = field(r, "balloon.rss");
  out.min_guarantee_kib = info.facts.min_guarantee_kib;
  out.has_balloon = info.facts.has_balloon;
  GuestStats& g = out.guest;
  if (field(r, "balloon.last-update")) {
    // libvirt's names are not the guest's: balloon.available is the guest's MemTotal
    // (stat-total-memory), balloon.usable its MemAvailable (stat-available-memory).
    g.available_kib = field(r, "balloon.usable");
    g.usable_kib = field(r, "balloon.usable");
    g.total_kib = field(r, "balloon.available");
    g.unused_kib = field(r, "balloon.unused");
    g.disk_caches_kib = field(r, "balloon.disk_caches");
    g.swap_in_kib = field(r, "balloon.swap_in");
    g.swap_out_kib = field(r, "balloon.swap_out");
    g.major_faults = field(r, "balloon.major_fault");
    g.minor_faults = field(r, "balloon.minor_fault");
    g.last_update_s = static_cast<double>(field(r, "balloon.last-update").value_or(0));
    if (g.last_update_s > 0) {
      info.last_guest = g;
    }
  } else if (info.last_guest) {
    // No guest fields this time (NOWAIT skipped a busy domain, or libvirtd just restarted):
    // the last report stands, and ages into `stale` by its own timestamp.
    g = *info.last_guest;
  }

  if (!field(r, "balloon.maximum")) {
    // A driver whose bulk stats have no balloon group (the test driver): one call for the sizes.
    if (const CallError e = api_->domainMemory(r.name, out.max_kib, out.actual_kib)) {
      if (e.kind != ErrorKind::kNoDomain && once(info, "memory-failed")) {
        spdlog::warn("vm-memory-failed vm={} error=\"{}\"", r.name, e.message);
      }
      return false;
    }
  }

  if (info.facts.passthrough) {
    out.exclude_reason = "vfio-passthrough";
    if (once(info, "passthrough")) {
      spdlog::warn("vm-excluded vm={} reason=vfio-passthrough", r.name);
    }
    return true;
  }
  if (!info.facts.has_balloon) {
    out.note = "no-balloon-device";
    if (once(info, "no-balloon")) {
      spdlog::warn("vm-no-driver vm={} reason=no-balloon-device", r.name);
    }
    return true;
  }

  const bool migrating =
      info.migrating || pausedForMigration(state, reason) || now < info.iterating_until_s;
  if (migrating) {
    out.exclude_reason = "migrating";
    if (once(info, "migrating")) {
      spdlog::info("vm-migrating vm={} targets=held", r.name);
    }
  } else if (info.reported.find("|migrating|") != std::string::npos) {
    info.reported.erase(info.reported.find("|migrating|"), std::string("|migrating|").size());
    spdlog::info("vm-migration-over vm={}", r.name);
  }

  // A driver that never reports is the acknowledgement tracker's to judge (no-driver after
  // acks.no_driver_after_s), the same way on every channel.
  handleStatsPeriod(r.name, info, out);
  return true;
}

Result<Snapshot> Session::read(double now) {
  takeEvents(now);
  std::string error;
  if (!ensureConnected(now, error)) {
    return Error{error};
  }
  calling("stats call");
  std::vector<DomainRecord> records;
  CallError e = api_->allDomainStats(nowait_, records);
  if (e.kind == ErrorKind::kUnsupported && nowait_) {
    nowait_ = false;
    spdlog::info("libvirt-nowait-unsupported uri={} error=\"{}\"", spec_.uri, e.message);
    e = api_->allDomainStats(nowait_, records);
  }
  if (e) {
    if (e.kind == ErrorKind::kConnection) {
      disconnect("stats-failed", now);
    }
    return Error{"libvirt: domain stats: " + e.message};
  }

  Snapshot snap;
  snap.time_s = now;
  HostSample host;
  if (const CallError he = api_->nodeMemory(host); !he) {
    snap.host = host;
  } else {
    if (he.kind == ErrorKind::kConnection) {
      disconnect("node-memory-failed", now);
    }
    return Error{"libvirt: node memory: " + he.message};
  }

  std::set<std::string> present;
  snap.vms.reserve(records.size());
  for (const auto& r : records) {
    VmSample vm;
    if (sampleFrom(r, now, vm)) {
      present.insert(vm.name);
      snap.vms.push_back(std::move(vm));
    }
  }
  // VMs that stopped without an event reaching us (it happened while disconnected).
  for (auto it = vms_.begin(); it != vms_.end();) {
    if (present.contains(it->first) || !it->second.facts_known) {
      ++it;
    } else {
      acks_.erase(it->first);
      it = vms_.erase(it);
    }
  }
  return snap;
}

Status Session::push(const std::string& vm, int64_t target_kib, double now) {
  if (!connected_) {
    return Error{"libvirt: not connected to " + spec_.uri};
  }
  auto it = vms_.find(vm);
  if (it != vms_.end() && it->second.migrating) {
    return Error{"libvirt: " + vm + " is migrating"};
  }
  const CallError e = api_->setMemory(vm, target_kib);
  if (!e) {
    if (it != vms_.end()) {
      it->second.pushed_kib = target_kib;
    }
    return Ok{};
  }
  switch (e.kind) {
    case ErrorKind::kNoDomain:
      // Stopped or destroyed since this tick's stats: routine. The next snapshot drops it.
      spdlog::info("push-vanished vm={} to_mib={}", vm, target_kib / kKibPerMib);
      vms_.erase(vm);
      return Ok{};
    case ErrorKind::kConnection: disconnect("push-failed", now); break;
    default: break;
  }
  return Error{"libvirt: set memory: " + e.message};
}

}  // namespace balloond::libvirt
