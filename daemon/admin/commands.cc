// SPDX-License-Identifier: Apache-2.0
#include "daemon/admin/commands.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>

#include "config/keys.h"
#include "daemon/admin/peer_access.h"
#include "proto/codec.h"

namespace balloond {

using control::Arguments;
using control::Request;
using control::Response;
using control::ResultCode;
using nlohmann::json;

namespace {

constexpr int64_t kMaxMibArgument = int64_t{16} << 20;  // 16 TiB in MiB
constexpr int64_t kDefaultDecisions = 10;

Response badArguments(const Error& e) {
  return control::error(e.message);
}

control::ReclaimInfo reclaimInfo(const ReclaimStatus& s) {
  return control::ReclaimInfo{
      .id = s.id,
      .outcome = std::string(toString(s.outcome)),
      .requested_kib = s.requested_kib,
      .freed_kib = s.freed_kib,
      .started_s = s.started_s,
      .finished_s = s.finished_s >= 0 ? std::optional<double>(s.finished_s) : std::nullopt,
      .plan_kib = s.plan_kib,
      .refused_by = s.refused_by,
      .text = s.text};
}

// success and in-progress are answers; cannot-free and refused are errors that carry the status.
Response reclaimAnswer(const ReclaimStatus& s) {
  const bool failed = s.outcome == ReclaimStatus::Outcome::kCannotFree ||
                      s.outcome == ReclaimStatus::Outcome::kRefused;
  return control::answer(failed ? ResultCode::kError : ResultCode::kOk,
                         std::string(toString(s.outcome)) + ": " + s.text,
                         control::toJson(reclaimInfo(s)));
}

}  // namespace

// The command table: name, whether it changes anything, one line of help, handler.
const Dispatcher::Command Dispatcher::kCommands[] = {
    {"list-commands", false, "the commands this daemon knows", &Dispatcher::listCommands},
    {"status-get", false, "version, uptime, channel, tick timing, host memory, VMs by state",
     &Dispatcher::statusGet},
    {"vm-list", false, "every VM: sizes, target, state and reason", &Dispatcher::vmList},
    {"vm-get", false, "one VM: stats, runtime overrides and its last decisions",
     &Dispatcher::vmGet},
    {"vm-set", true, "pin a target, set a floor or ceiling, exclude or include; clear overrides",
     &Dispatcher::vmSet},
    {"config-get", false, "the running configuration", &Dispatcher::configGet},
    {"config-test", true, "check a configuration file without applying it",
     &Dispatcher::configTest},
    {"config-reload", true, "reload the configuration file (kept if invalid)",
     &Dispatcher::configReload},
    {"daemon-pause", true, "stop changing targets; optionally give every VM its max back",
     &Dispatcher::daemonPause},
    {"daemon-resume", true, "resume changing targets", &Dispatcher::daemonResume},
    {"snapshot-get", false, "the last snapshot and controller state (balloond --evaluate input)",
     &Dispatcher::snapshotGet},
    {"reclaim", true, "free N MiB of host memory now, within floors: the plan and its outcome",
     &Dispatcher::reclaim},
    {"reclaim-get", false, "where the last reclaim stands: plan, freed, outcome, refusers",
     &Dispatcher::reclaimGet},
};

Dispatcher::Dispatcher(DaemonAccess& daemon) : daemon_(daemon) {}

std::string Dispatcher::handleLine(std::string_view line, const Peer& peer) {
  auto request = control::parseRequest(line);
  if (!request) {
    return control::encode(control::error(request.error().message));
  }
  return control::encode(handle(*request, peer));
}

Response Dispatcher::handle(const Request& request, const Peer& peer) {
  const auto* cmd = std::find_if(std::begin(kCommands), std::end(kCommands),
                                 [&](const Command& c) { return c.name == request.command; });
  if (cmd == std::end(kCommands)) {
    return control::answer(ResultCode::kUnknownCommand,
                           "unknown command '" + request.command + "' (see list-commands)");
  }
  if (cmd->mutating && !peer.admin) {
    spdlog::warn("control-forbidden command={} uid={} pid={}", request.command, peer.uid, peer.pid);
    return control::answer(ResultCode::kForbidden, "'" + request.command +
                                                       "' changes the daemon: it needs root or "
                                                       "the admin group");
  }
  try {
    peer_ = peer;
    Response r = (this->*(cmd->handler))(request);
    if (cmd->mutating) {
      spdlog::info("control-command command={} uid={} result={}", request.command, peer.uid,
                   static_cast<int>(r.result));
    }
    return r;
  } catch (const std::exception& e) {
    spdlog::error("control-command-failed command={} error=\"{}\"", request.command, e.what());
    return control::error("'" + request.command + "' failed: " + e.what());
  }
}

std::vector<control::CommandInfo> Dispatcher::commands() const {
  std::vector<control::CommandInfo> out;
  for (const auto& c : kCommands) {
    out.push_back({std::string(c.name), c.mutating, std::string(c.help)});
  }
  return out;
}

const VmStatus* Dispatcher::findVm(const std::string& name) const {
  for (const auto& vm : daemon_.controller().status()) {
    if (vm.name == name) {
      return &vm;
    }
  }
  return nullptr;
}

control::VmInfo Dispatcher::vmInfo(const VmStatus& vm, bool detail, size_t decisions) const {
  Controller& c = daemon_.controller();
  control::VmInfo info{.name = vm.name,
                       .max_kib = vm.max_kib,
                       .actual_kib = vm.actual_kib,
                       .target_kib = vm.target_kib,
                       .floor_kib = vm.floor_kib,
                       .ceiling_kib = vm.ceiling_kib,
                       .available_kib = vm.available_kib,
                       .state = std::string(policy::toString(vm.state)),
                       .state_reason = vm.state_reason,
                       .reason = vm.reason,
                       .last_change_s = vm.last_change_s,
                       .runtime_override = {},
                       .stats = std::nullopt,
                       .decisions = {}};
  if (auto it = c.runtimeOverrides().find(vm.name); it != c.runtimeOverrides().end()) {
    info.runtime_override = it->second;
  }
  if (!detail) {
    return info;
  }
  for (const auto& sample : c.lastSnapshot().vms) {
    if (sample.name == vm.name) {
      info.stats = sample.guest;
    }
  }
  if (!info.stats) {
    info.stats = GuestStats{};
  }
  if (const auto* history = c.decisions(vm.name)) {
    const size_t skip = history->size() > decisions ? history->size() - decisions : 0;
    info.decisions.assign(history->begin() + static_cast<std::ptrdiff_t>(skip), history->end());
  }
  return info;
}

// Not const: every handler has the one signature the command table stores.
// NOLINTNEXTLINE(readability-make-member-function-const)
Response Dispatcher::listCommands(const Request& r) {
  if (auto s = Arguments(r.arguments, {}).check(); !s) {
    return badArguments(s.error());
  }
  json list = json::array();
  for (const auto& c : commands()) {
    list.push_back(control::toJson(c));
  }
  return control::ok(std::to_string(list.size()) + " commands", {{"commands", list}});
}

Response Dispatcher::statusGet(const Request& r) {
  if (auto s = Arguments(r.arguments, {}).check(); !s) {
    return badArguments(s.error());
  }
  control::DaemonInfo info = daemon_.info();
  const Controller& c = daemon_.controller();
  info.host = c.lastSnapshot().host;
  info.paused = c.paused();
  for (const auto& vm : c.status()) {
    info.reclaimed_kib += vm.max_kib - vm.actual_kib;
    ++info.vms_by_state[std::string(policy::toString(vm.state))];
  }
  return control::ok(info.paused ? "paused" : "running", control::toJson(info));
}

Response Dispatcher::vmList(const Request& r) {
  if (auto s = Arguments(r.arguments, {}).check(); !s) {
    return badArguments(s.error());
  }
  json vms = json::array();
  for (const auto& vm : daemon_.controller().status()) {
    vms.push_back(control::toJson(vmInfo(vm, false, 0)));
  }
  if (vms.empty()) {
    return control::answer(ResultCode::kEmpty, "no VMs", {{"vms", vms}});
  }
  return control::ok(std::to_string(vms.size()) + " VMs", {{"vms", vms}});
}

Response Dispatcher::vmGet(const Request& r) {
  Arguments args(r.arguments, {"name", "decisions"});
  if (auto s = args.check(); !s) {
    return badArguments(s.error());
  }
  auto name = args.text("name");
  if (!name) {
    return badArguments(name.error());
  }
  int64_t n = kDefaultDecisions;
  if (args.has("decisions")) {
    auto v = args.integer("decisions", 0, Controller::kDecisionHistory);
    if (!v) {
      return badArguments(v.error());
    }
    n = *v;
  }
  const VmStatus* vm = findVm(*name);
  if (vm == nullptr) {
    return control::answer(ResultCode::kEmpty, "no VM named '" + *name + "'");
  }
  return control::ok(*name, control::toJson(vmInfo(*vm, true, static_cast<size_t>(n))));
}

Response Dispatcher::vmSet(const Request& r) {
  Arguments args(r.arguments, {"name", "pin_mib", "floor_mib", "ceiling_mib", "excluded", "clear"});
  if (auto s = args.check(); !s) {
    return badArguments(s.error());
  }
  auto name = args.text("name");
  if (!name) {
    return badArguments(name.error());
  }
  Controller& c = daemon_.controller();
  control::VmOverride o;
  if (auto it = c.runtimeOverrides().find(*name); it != c.runtimeOverrides().end()) {
    o = it->second;
  }
  if (args.has("clear")) {
    auto clear = args.flag("clear");
    if (!clear) {
      return badArguments(clear.error());
    }
    if (*clear) {
      o = {};
    }
  }
  for (auto [key, field] : {std::pair{"pin_mib", &control::VmOverride::pin_kib},
                            std::pair{"floor_mib", &control::VmOverride::floor_kib},
                            std::pair{"ceiling_mib", &control::VmOverride::ceiling_kib}}) {
    if (args.has(key)) {
      auto v = args.integer(key, 0, kMaxMibArgument);
      if (!v) {
        return badArguments(v.error());
      }
      o.*field = *v * kKibPerMib;
    }
  }
  if (args.has("excluded")) {
    auto v = args.flag("excluded");
    if (!v) {
      return badArguments(v.error());
    }
    o.excluded = *v;
  }
  if (o.floor_kib && o.ceiling_kib && *o.floor_kib > *o.ceiling_kib) {
    return control::error("floor_mib must be at most ceiling_mib");
  }
  const VmStatus* vm = findVm(*name);
  if (vm == nullptr) {
    return control::answer(ResultCode::kEmpty, "no VM named '" + *name + "'");
  }
  if (o.pin_kib && *o.pin_kib > vm->max_kib) {
    return control::error("pin_mib must be at most the VM's max (" +
                          std::to_string(vm->max_kib / kKibPerMib) + " MiB)");
  }
  c.setRuntimeOverride(*name, o);
  return control::ok(o.empty() ? "overrides cleared" : "override set; applies from the next tick",
                     {{"name", *name}, {"runtime_override", control::toJson(o)}});
}

Response Dispatcher::configGet(const Request& r) {
  if (auto s = Arguments(r.arguments, {}).check(); !s) {
    return badArguments(s.error());
  }
  return control::ok(daemon_.config().source, config::configToJson(daemon_.config()));
}

Response Dispatcher::configTest(const Request& r) {
  Arguments args(r.arguments, {"path"});
  if (auto s = args.check(); !s) {
    return badArguments(s.error());
  }
  std::string path;
  if (args.has("path")) {
    auto p = args.text("path");
    if (!p) {
      return badArguments(p.error());
    }
    path = *p;
  }
  // The file is read only if the peer could read it itself, and a non-root peer's error
  // quotes nothing from it.
  const Peer peer = peer_;
  const config::FileCheck check = [peer, groups = peerGroups(peer)](int fd,
                                                                    const std::string& file) {
    return peerMayRead(peer, groups, fd, file);
  };
  auto status = daemon_.reload(path, false, check);
  if (!status) {
    const std::string& message = status.error().message;
    return control::error(peer.uid == 0 ? message : redactedForPeer(message, path));
  }
  return control::ok((path.empty() ? daemon_.config().source : path) + ": ok");
}

Response Dispatcher::configReload(const Request& r) {
  if (auto s = Arguments(r.arguments, {}).check(); !s) {
    return badArguments(s.error());
  }
  auto status = daemon_.reload("", true, nullptr);
  if (!status) {
    const std::string& message = status.error().message;
    return control::error(
        (peer_.uid == 0 ? message : redactedForPeer(message, daemon_.config().source)) +
        " (keeping the running configuration)");
  }
  return control::ok("reloaded " + daemon_.config().source);
}

Response Dispatcher::daemonPause(const Request& r) {
  Arguments args(r.arguments, {"restore"});
  if (auto s = args.check(); !s) {
    return badArguments(s.error());
  }
  bool restore = false;
  if (args.has("restore")) {
    auto v = args.flag("restore");
    if (!v) {
      return badArguments(v.error());
    }
    restore = *v;
  }
  Controller& c = daemon_.controller();
  c.setPaused(true);
  const int restored = restore ? c.restoreAll() : 0;
  spdlog::info("daemon-paused restore={} restored={}", restore, restored);
  return control::ok(
      restore ? "paused; " + std::to_string(restored) + " VMs given their max" : "paused",
      {{"paused", true}, {"restored", restored}});
}

Response Dispatcher::daemonResume(const Request& r) {
  if (auto s = Arguments(r.arguments, {}).check(); !s) {
    return badArguments(s.error());
  }
  daemon_.controller().setPaused(false);
  spdlog::info("daemon-resumed");
  return control::ok("running", {{"paused", false}});
}

Response Dispatcher::snapshotGet(const Request& r) {
  if (auto s = Arguments(r.arguments, {}).check(); !s) {
    return badArguments(s.error());
  }
  // The state dump: the snapshot plus targets, states and policy history, which
  // `balloond --evaluate` replays (the same document SIGUSR1 writes).
  const StateDump dump = daemon_.controller().dumpState();
  return control::ok("snapshot at " + std::to_string(dump.snapshot.time_s) + " s", toJson(dump));
}

Response Dispatcher::reclaim(const Request& r) {
  Arguments args(r.arguments, {"mib"});
  if (auto s = args.check(); !s) {
    return badArguments(s.error());
  }
  auto mib = args.integer("mib", 1, kMaxMibArgument);
  if (!mib) {
    return badArguments(mib.error());
  }
  Controller& c = daemon_.controller();
  if (c.paused()) {
    return control::error("the daemon is paused: daemon-resume first");
  }
  auto status = c.startReclaim(*mib * kKibPerMib);
  if (!status) {
    return control::error(status.error().message);
  }
  return reclaimAnswer(*status);
}

Response Dispatcher::reclaimGet(const Request& r) {
  if (auto s = Arguments(r.arguments, {}).check(); !s) {
    return badArguments(s.error());
  }
  auto status = daemon_.controller().reclaimStatus();
  if (!status) {
    return control::answer(ResultCode::kEmpty, "no reclaim has been requested");
  }
  return reclaimAnswer(*status);
}

}  // namespace balloond
