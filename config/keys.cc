// SPDX-License-Identifier: Apache-2.0
#include "config/keys.h"

#include <algorithm>
#include <array>
#include <cstddef>

namespace balloond::config {
namespace {

using json = nlohmann::json;
using C = const Config&;
using O = const VmOverrideSpec&;
using S = const QmpSocketSpec&;
using V = const SimVmSpec&;
using P = const PhaseSpec&;

constexpr Range kMib{0, kMaxMib};
constexpr Range kMibAbove0{0, kMaxMib, true};
constexpr Range kSeconds{0, kMaxSeconds};
constexpr Range kSecondsAbove0{0, kMaxSeconds, true};
constexpr std::nullopt_t kNoRange = std::nullopt;

template <typename T>
json opt(const std::optional<T>& v) {
  return v ? json(*v) : json();
}

json phaseKind(PhaseSpec::Kind k) {
  constexpr std::array<const char*, 4> kNames = {"constant", "ramp", "spike", "periodic"};
  return kNames.at(static_cast<std::size_t>(k));
}

// clang-format off
const std::vector<Key> kKeys = {
  {"tick_s", "how often the daemon reads stats, decides and pushes targets",
   Range{0.05, 60}, +[](C c) -> json { return c.tick_s; }},
  {"default_floor_mib", "floor for VMs no vms[] entry gives one: never shrunk below this",
   kMib, +[](C c) -> json { return c.default_floor_mib; }},
  {"state_dir", "where state.json is kept (absolute; read at start); unset: /var/lib/balloond with libvirt or qmp, none on the simulated host",
   kNoRange, +[](C c) -> json { return opt(c.state_dir); }},

  {"channel.type", "the hypervisor connection: sim, libvirt, or qmp (QEMU's monitor sockets, without libvirt)",
   kNoRange, +[](C c) -> json { return c.channel.type; }},
  {"channel.libvirt.uri", "libvirt URI: qemu, xen or test, optionally +unix, +ssh, +tls, +tcp, +libssh, +libssh2, +ext",
   kNoRange, +[](C c) -> json { return c.channel.libvirt.uri; }},
  {"channel.libvirt.set_stats_period", "turn the balloon stats period on for VMs that have it off",
   kNoRange, +[](C c) -> json { return c.channel.libvirt.set_stats_period; }},
  {"channel.libvirt.stats_period_s", "the stats period turned on, whole seconds; at least 1 with set_stats_period",
   Range{0, 3600}, +[](C c) -> json { return c.channel.libvirt.stats_period_s; }},
  {"channel.libvirt.reconnect_max_s", "reconnect backoff: 1 s, doubling up to this",
   Range{1, 3600}, +[](C c) -> json { return c.channel.libvirt.reconnect_max_s; }},

  {"channel.qmp.sockets[].glob", "QMP sockets, an absolute path that may hold * ? [...]; a file nobody listens on is no VM; type qmp: at least one entry",
   kNoRange, +[](S s) -> json { return s.glob; }, true},
  {"channel.qmp.sockets[].mode", "shared: a short session per VM per tick, the socket free between them; exclusive: balloond's own socket, one connection, events",
   kNoRange, +[](S s) -> json { return s.mode; }},
  {"channel.qmp.sockets[].name_from", "qemu: the VM's name from query-name, else the socket's file name; socket: always the file name (Proxmox: the vmid)",
   kNoRange, +[](S s) -> json { return s.name_from; }},
  {"channel.qmp.deadline_s", "a shared session's time budget, an exclusive command's; below tick_s",
   Range{0, 60, true}, +[](C c) -> json { return c.channel.qmp.deadline_s; }},
  {"channel.qmp.set_stats_period", "turn QEMU's balloon stats polling on for VMs that have it off",
   kNoRange, +[](C c) -> json { return c.channel.qmp.set_stats_period; }},
  {"channel.qmp.stats_period_s", "the polling interval turned on, whole seconds; at least 1 with set_stats_period",
   Range{0, 3600}, +[](C c) -> json { return c.channel.qmp.stats_period_s; }},
  {"channel.qmp.reconnect_max_s", "exclusive sockets: reconnect backoff, 1 s doubling up to this",
   Range{1, 3600}, +[](C c) -> json { return c.channel.qmp.reconnect_max_s; }},

  {"channel.sim.total_mib", "the simulated host's memory",
   kMibAbove0, +[](C c) -> json { return c.channel.sim.total_mib; }, true},
  {"channel.sim.overhead_mib", "what the simulated host's OS and daemons use",
   kMib, +[](C c) -> json { return c.channel.sim.overhead_mib; }},
  {"channel.sim.per_vm_overhead_mib", "QEMU's own overhead per running VM",
   kMib, +[](C c) -> json { return c.channel.sim.per_vm_overhead_mib; }},
  {"channel.sim.vms[].name", "the simulated VM's unique name: letters, digits, '_', '.', '-'",
   kNoRange, +[](V v) -> json { return v.name; }, true},
  {"channel.sim.vms[].max_mib", "its largest size (configured memory)",
   kMibAbove0, +[](V v) -> json { return v.max_mib; }, true},
  {"channel.sim.vms[].actual_mib", "its size at start, at most max_mib; unset: max_mib",
   kMibAbove0, +[](V v) -> json { return opt(v.actual_mib); }},
  {"channel.sim.vms[].swap_mib", "guest swap space; 0: the guest OOM-kills instead",
   kMib, +[](V v) -> json { return v.swap_mib; }},
  {"channel.sim.vms[].start_s", "when it starts, from the beginning of the run",
   kSeconds, +[](V v) -> json { return v.start_s; }},
  {"channel.sim.vms[].stop_s", "when it stops, above start_s; unset: never",
   kSeconds, +[](V v) -> json { return opt(v.stop_s); }},
  {"channel.sim.vms[].workload.kernel_mib", "the guest kernel's own memory, never reclaimable",
   kMib, +[](V v) -> json { return v.workload.kernel_mib; }},
  {"channel.sim.vms[].workload.cache_mib", "file working set: page cache the guest would like to keep",
   kMib, +[](V v) -> json { return v.workload.cache_mib; }},
  {"channel.sim.vms[].workload.repeat", "start over after the last phase",
   kNoRange, +[](V v) -> json { return v.workload.repeat; }},
  {"channel.sim.vms[].workload.restart_s", "after an OOM kill, the workload restarts this long after",
   kSeconds, +[](V v) -> json { return v.workload.restart_s; }},
  {"channel.sim.vms[].workload.phases[].kind", "constant, ramp, spike or periodic",
   kNoRange, +[](P p) -> json { return phaseKind(p.kind); }, true},
  {"channel.sim.vms[].workload.phases[].duration_s", "how long the phase lasts; 0: forever (last phase only)",
   kSeconds, +[](P p) -> json { return p.duration_s; }},
  {"channel.sim.vms[].workload.phases[].mib", "constant: the level; spike: the base level (required there)",
   kMib, +[](P p) -> json { return p.mib; }},
  {"channel.sim.vms[].workload.phases[].from_mib", "ramp: the start level (required there)",
   kMib, +[](P p) -> json { return p.from_mib; }},
  {"channel.sim.vms[].workload.phases[].to_mib", "ramp: the end level (required there)",
   kMib, +[](P p) -> json { return p.to_mib; }},
  {"channel.sim.vms[].workload.phases[].peak_mib", "spike: the level during the spike (required there)",
   kMib, +[](P p) -> json { return p.peak_mib; }},
  {"channel.sim.vms[].workload.phases[].at_s", "spike: when it starts, from the phase start",
   kSeconds, +[](P p) -> json { return p.at_s; }},
  {"channel.sim.vms[].workload.phases[].length_s", "spike: how long it lasts, ending within the phase (required there)",
   kSeconds, +[](P p) -> json { return p.length_s; }},
  {"channel.sim.vms[].workload.phases[].low_mib", "periodic: the low level (required there)",
   kMib, +[](P p) -> json { return p.low_mib; }},
  {"channel.sim.vms[].workload.phases[].high_mib", "periodic: the high level, at least low_mib (required there)",
   kMib, +[](P p) -> json { return p.high_mib; }},
  {"channel.sim.vms[].workload.phases[].period_s", "periodic: one full low-high-low cycle (required there)",
   kSecondsAbove0, +[](P p) -> json { return p.period_s; }},
  {"channel.sim.vms[].driver.model", "ideal, slow, stuck, intermittent, hidden-floor, hidden-ceiling, no-driver, stale-stats or lying",
   kNoRange, +[](V v) -> json { return v.driver.model; }},
  {"channel.sim.vms[].driver.rate_mib_s", "inflate rate while the guest has free memory to give",
   kMib, +[](V v) -> json { return v.driver.rate_mib_s; }},
  {"channel.sim.vms[].driver.deflate_rate_mib_s", "deflate (grow the guest) rate",
   kMib, +[](V v) -> json { return v.driver.deflate_rate_mib_s; }},
  {"channel.sim.vms[].driver.pressure_rate_mib_s", "inflate rate when the guest must reclaim cache or swap",
   kMib, +[](V v) -> json { return v.driver.pressure_rate_mib_s; }},
  {"channel.sim.vms[].driver.stats_period_s", "how often the guest reports stats; 0: never",
   Range{0, 3600}, +[](V v) -> json { return v.driver.stats_period_s; }},
  {"channel.sim.vms[].driver.short_kib", "ideal: stops this far short of each target",
   Range{0, 1048576}, +[](V v) -> json { return v.driver.short_kib; }},
  {"channel.sim.vms[].driver.limit_mib", "hidden-floor, hidden-ceiling: the size it cannot pass",
   kMib, +[](V v) -> json { return v.driver.limit_mib; }},
  {"channel.sim.vms[].driver.work_s", "intermittent: works this long ...",
   kSecondsAbove0, +[](V v) -> json { return v.driver.work_s; }},
  {"channel.sim.vms[].driver.stall_s", "intermittent: ... then stalls this long",
   kSeconds, +[](V v) -> json { return v.driver.stall_s; }},
  {"channel.sim.vms[].driver.from_s", "stuck: stops moving this long after the VM starts",
   kSeconds, +[](V v) -> json { return v.driver.from_s; }},
  {"channel.sim.vms[].driver.freeze_at_s", "stale-stats: stops reporting this long after the VM starts",
   kSeconds, +[](V v) -> json { return v.driver.freeze_at_s; }},

  {"policy.name", "the policy that picks every VM's target (balloond --list-policies)",
   kNoRange, +[](C c) -> json { return c.policy.name; }},
  {"policy.params", "the policy's numeric parameters by name; the policy checks them and fills in the rest",
   kNoRange, +[](C c) -> json { return c.policy.params; }},

  {"guards.inflate_step_mib", "at most this much taken from a VM in one tick",
   kMibAbove0, +[](C c) -> json { return c.guards.inflate_step_mib; }},
  {"guards.inflate_step_fraction", "... and at most this fraction of its actual size",
   Range{0, 1, true}, +[](C c) -> json { return c.guards.inflate_step_fraction; }},
  {"guards.deflate_step_mib", "at most this much given to a VM in one tick",
   kMibAbove0, +[](C c) -> json { return c.guards.deflate_step_mib; }},
  {"guards.min_change_mib", "smaller changes are not pushed",
   kMib, +[](C c) -> json { return c.guards.min_change_mib; }},
  {"guards.need_margin_mib", "never shrink a VM below what its guest uses plus this",
   kMib, +[](C c) -> json { return c.guards.need_margin_mib; }},
  {"guards.grow_holdoff_s", "no shrinking a VM this long after it was grown",
   kSeconds, +[](C c) -> json { return c.guards.grow_holdoff_s; }},
  {"guards.host_reserve_mib", "growing a VM never takes host available memory below this",
   kMib, +[](C c) -> json { return c.guards.host_reserve_mib; }},
  {"guards.emergency_step_factor", "host available under the reserve: inflate steps this many times larger",
   Range{1, 100}, +[](C c) -> json { return c.guards.emergency_step_factor; }},

  {"acks.min_rate_mib_s", "progress slower than this toward a target counts as none",
   kMibAbove0, +[](C c) -> json { return c.acks.min_rate_mib_s; }},
  {"acks.stuck_after_s", "no progress this long: stuck, target retracted",
   Range{0, 3600, true}, +[](C c) -> json { return c.acks.stuck_after_s; }},
  {"acks.uncooperative_window_s", "stalled over half of this window: uncooperative; above stuck_after_s",
   Range{0, 86400, true}, +[](C c) -> json { return c.acks.uncooperative_window_s; }},
  {"acks.cooperative_after_s", "an uncooperative guest is cleared once it has made progress without a stall for this long",
   Range{0, 86400, true}, +[](C c) -> json { return c.acks.cooperative_after_s; }},
  {"acks.stale_periods", "stats older than this many stats periods: stale, never shrunk",
   Range{1, 1000}, +[](C c) -> json { return c.acks.stale_periods; }},
  {"acks.no_driver_after_s", "never reported nor moved this long: no-driver",
   Range{1, 3600}, +[](C c) -> json { return c.acks.no_driver_after_s; }},

  {"vms[].match", "a VM name or glob (fnmatch); later entries win",
   kNoRange, +[](O o) -> json { return o.match; }, true},
  {"vms[].floor_mib", "never shrink below this; unset: default_floor_mib",
   kMib, +[](O o) -> json { return opt(o.floor_mib); }},
  {"vms[].ceiling_mib", "never grow above this, at least floor_mib; unset: the VM's max",
   kMib, +[](O o) -> json { return opt(o.ceiling_mib); }},
  {"vms[].excluded", "leave the VM alone entirely; unset: false",
   kNoRange, +[](O o) -> json { return opt(o.excluded); }},
  {"vms[].shares", "relative claim on memory (share, host-target); unset: 1000",
   Range{0, 1000000, true}, +[](O o) -> json { return opt(o.shares); }},

  {"control.socket", "the control socket's path (on restart)",
   kNoRange, +[](C c) -> json { return c.control.socket; }},
  {"control.group", "the socket's group: may run read-only commands; empty: root's",
   kNoRange, +[](C c) -> json { return c.control.group; }},
  {"control.admin_group", "may also run mutating commands; empty: root only",
   kNoRange, +[](C c) -> json { return c.control.admin_group; }},
  {"control.idle_timeout_s", "a connection without a complete request this long is closed",
   Range{0, 86400, true}, +[](C c) -> json { return c.control.idle_timeout_s; }},

  {"metrics.listen", "Prometheus listener ADDRESS:PORT; empty: off (on restart)",
   kNoRange, +[](C c) -> json { return c.metrics.listen; }},

  {"on_exit", "on a clean stop: keep every guest's size, or restore every managed VM's max",
   kNoRange, +[](C c) -> json { return c.on_exit; }},
};
// clang-format on

// The JSON pointer of a top-level key: "guards.inflate_step_mib" -> "/guards/inflate_step_mib".
json::json_pointer pointer(std::string_view path) {
  std::string p = "/" + std::string(path);
  std::replace(p.begin(), p.end(), '.', '/');
  return json::json_pointer(p);
}

// A getter applied to a default-constructed struct of the type it reads.
template <typename T>
json atDefault(json (*get)(const T&)) {
  return get(T{});
}

// Sets `name` in each object of `out` to what `get` reads from the list item at the same index.
template <typename T>
void listItems(const std::vector<T>& items, json (*get)(const T&), const std::string& name,
               json& out) {
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (json v = get(items[i]); !v.is_null()) out[i][name] = std::move(v);
  }
}

std::string shown(const json& v) {
  if (v.is_null()) return "unset";
  if (v.is_number()) return formatNumber(v.get<double>());
  return v.dump();
}

}  // namespace

const std::vector<Key>& configKeys() {
  return kKeys;
}

const Key* findKey(std::string_view path) {
  auto it = std::find_if(kKeys.begin(), kKeys.end(), [&](const Key& k) { return k.path == path; });
  return it == kKeys.end() ? nullptr : &*it;
}

std::optional<Range> keyRange(std::string_view path) {
  const Key* key = findKey(path);
  return key != nullptr ? key->range : std::nullopt;
}

json defaultValue(const Key& key) {
  return std::visit([](auto get) { return atDefault(get); }, key.value);
}

json configToJson(const Config& c) {
  json out = json::object();
  out["source"] = c.source;
  out["vms"] = json::array();
  for (std::size_t i = 0; i < c.vms.size(); ++i) out["vms"].push_back(json::object());
  const auto sockets = pointer("channel.qmp.sockets");
  out[sockets] = json::array();
  for (std::size_t i = 0; i < c.channel.qmp.sockets.size(); ++i) {
    out[sockets].push_back(json::object());
  }
  for (const Key& key : kKeys) {
    const std::string name(key.path.substr(key.path.rfind('.') + 1));
    if (const auto* get = std::get_if<json (*)(const Config&)>(&key.value)) {
      if (json v = (*get)(c); !v.is_null()) out[pointer(key.path)] = std::move(v);
    } else if (const auto* item = std::get_if<json (*)(const VmOverrideSpec&)>(&key.value)) {
      listItems(c.vms, *item, name, out["vms"]);
    } else if (const auto* socket = std::get_if<json (*)(const QmpSocketSpec&)>(&key.value)) {
      listItems(c.channel.qmp.sockets, *socket, name, out[sockets]);
    }
    // channel.sim.vms[] (and their phases) are the simulation's, not settings: not shown.
  }
  return out;
}

std::string keyTable() {
  std::size_t path_width = 0;
  std::size_t range_width = 0;
  std::size_t default_width = 0;
  struct Row {
    std::string path, range, def;
    std::string_view help;
  };
  std::vector<Row> rows;
  for (const Key& key : kKeys) {
    Row& r = rows.emplace_back(Row{std::string(key.path), key.range ? key.range->text() : "-",
                                   key.required ? "required" : shown(defaultValue(key)), key.help});
    path_width = std::max(path_width, r.path.size());
    range_width = std::max(range_width, r.range.size());
    default_width = std::max(default_width, r.def.size());
  }
  std::string out;
  auto pad = [](const std::string& s, std::size_t width) {
    return s + std::string(width - s.size() + 2, ' ');
  };
  for (const Row& r : rows) {
    out += pad(r.path, path_width) + pad(r.range, range_width) + pad(r.def, default_width) +
           std::string(r.help) + "\n";
  }
  return out;
}

}  // namespace balloond::config
