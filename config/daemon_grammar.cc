// SPDX-License-Identifier: Apache-2.0
#include "config/daemon_grammar.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <system_error>

#include "policy/registry.h"

namespace balloond::config {
namespace {

// The key table's sections that hold lists or sit deep, as prefixes of their keys' paths.
constexpr std::string_view kLibvirtSection = "channel.libvirt";
constexpr std::string_view kQmpSection = "channel.qmp";
constexpr std::string_view kSimSection = "channel.sim";
constexpr std::string_view kSimVmSection = "channel.sim.vms[]";
constexpr std::string_view kWorkloadSection = "channel.sim.vms[].workload";
constexpr std::string_view kPhaseSection = "channel.sim.vms[].workload.phases[]";
constexpr std::string_view kDriverSection = "channel.sim.vms[].driver";
constexpr std::string_view kOverrideSection = "vms[]";

constexpr std::size_t kMaxSocketPath = 108;  // sizeof(sockaddr_un::sun_path)

// "ADDRESS:PORT" with an IPv4 address or a bracketed IPv6 one ("[::1]:9712"); port 0 = any free.
bool validListen(const std::string& s) {
  const auto colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  std::string host = s.substr(0, colon);
  const std::string port = s.substr(colon + 1);
  int p = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || p < 0 || p > 65535) {
    return false;
  }
  unsigned char buf[sizeof(in6_addr)];
  if (host.front() == '[' && host.back() == ']') {
    return inet_pton(AF_INET6, host.substr(1, host.size() - 2).c_str(), buf) == 1;
  }
  return inet_pton(AF_INET, host.c_str(), buf) == 1;
}

const std::vector<std::string_view> kChannelTypes = {"sim", "libvirt", "qmp"};
// libvirt URI schemes: a driver with balloon support, optionally "+transport".
const std::vector<std::string_view> kLibvirtDrivers = {"qemu", "xen", "test"};
const std::vector<std::string_view> kLibvirtTransports = {"unix",   "ssh",     "tls", "tcp",
                                                          "libssh", "libssh2", "ext"};
// How balloond may use the QMP sockets a glob matches, and where their VMs' names come from.
const std::vector<std::string_view> kQmpModes = {"shared", "exclusive"};
const std::vector<std::string_view> kQmpNameSources = {"qemu", "socket"};
// What a clean stop does to the guests (on_exit).
const std::vector<std::string_view> kOnExit = {"keep", "restore"};
const std::vector<std::string_view> kPhaseKinds = {"constant", "ramp", "spike", "periodic"};
const std::vector<std::string_view> kDriverModels = {
    "ideal",          "slow",      "stuck",       "intermittent", "hidden-floor",
    "hidden-ceiling", "no-driver", "stale-stats", "lying"};

bool validVmName(const std::string& name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
  });
}

}  // namespace

bool DaemonGrammar::config(const Val& v, Config& c) {
  bool have_policy = false;
  std::vector<Field> fields = {
      key("", "tick_s", c.tick_s),
      key("", "default_floor_mib", c.default_floor_mib),
      {"state_dir",
       [&](const Val& x) {
         std::string dir;
         if (!str(x, dir)) return false;
         c.state_dir = dir;
         return dir.starts_with('/') || fail(x, "must be an absolute path, got '" + dir + "'");
       }},
      {"channel", [&](const Val& x) { return channel(x, c.channel); }, kRequired},
  };
  addDecisionSections(fields, c, have_policy);
  fields.insert(fields.end(),
                {
                    {"vms",
                     [&](const Val& x) {
                       return list(x, [&](const Val& item, bool) {
                         return vmOverride(item, c.vms.emplace_back());
                       });
                     }},
                    {"control", [&](const Val& x) { return control(x, c.control); }},
                    {"metrics", [&](const Val& x) { return metrics(x, c.metrics); }},
                    {"on_exit",
                     [&](const Val& x) { return choice(x, c.on_exit, kOnExit, "on_exit action"); }},
                });
  return map(v, fields) && (have_policy || checkPolicy(at(v, "policy"), c.policy)) &&
         qmpDeadline(v, c);
}

void DaemonGrammar::addDecisionSections(std::vector<Field>& fields, Config& c, bool& have_policy) {
  fields.insert(fields.end(), {
                                  {"policy",
                                   [&](const Val& x) {
                                     have_policy = true;
                                     return policy(x, c.policy);
                                   }},
                                  {"guards", [&](const Val& x) { return guards(x, c.guards); }},
                                  {"acks", [&](const Val& x) { return acks(x, c.acks); }},
                              });
}

bool DaemonGrammar::channel(const Val& v, ChannelSpec& c) {
  bool have_sim = false;
  bool have_qmp = false;
  return map(v,
             {
                 {"type",
                  [&](const Val& x) { return choice(x, c.type, kChannelTypes, "channel type"); }},
                 {"sim",
                  [&](const Val& x) {
                    have_sim = true;
                    return sim(x, c.sim);
                  }},
                 {"libvirt", [&](const Val& x) { return libvirt(x, c.libvirt); }},
                 {"qmp",
                  [&](const Val& x) {
                    have_qmp = true;
                    return qmp(x, c.qmp);
                  }},
             }) &&
         (have_sim || c.type != "sim" || fail(v, "missing required key 'sim'")) &&
         (have_qmp || c.type != "qmp" || fail(v, "missing required key 'qmp'")) &&
         (!c.qmp.sockets.empty() || c.type != "qmp" ||
          fail(at(at(v, "qmp"), "sockets"), "must list at least one socket glob"));
}

bool DaemonGrammar::libvirt(const Val& v, LibvirtSpec& l) {
  return map(v,
             {
                 {"uri", [&](const Val& x) { return str(x, l.uri) && libvirtUri(x, l.uri); }},
                 flag("set_stats_period", l.set_stats_period),
                 key(kLibvirtSection, "stats_period_s", l.stats_period_s),
                 key(kLibvirtSection, "reconnect_max_s", l.reconnect_max_s),
             }) &&
         statsPeriod(v, l.set_stats_period, l.stats_period_s, "libvirt");
}

bool DaemonGrammar::statsPeriod(const Val& v, bool set_stats_period, double stats_period_s,
                                std::string_view hypervisor) {
  return (stats_period_s == std::floor(stats_period_s) ||
          fail(at(v, "stats_period_s"), std::string(hypervisor) + " takes whole seconds, got " +
                                            formatNumber(stats_period_s))) &&
         (!set_stats_period || stats_period_s >= 1 ||
          fail(at(v, "stats_period_s"), "must be at least 1 when set_stats_period is true"));
}

bool DaemonGrammar::libvirtUri(const Val& v, const std::string& uri) {
  const auto colon = uri.find(':');
  if (colon == std::string::npos || colon == 0) {
    return fail(v, "expected a libvirt URI such as qemu:///system, got '" + uri + "'");
  }
  const std::string scheme = uri.substr(0, colon);
  const auto plus = scheme.find('+');
  const std::string driver = scheme.substr(0, plus);
  if (std::find(kLibvirtDrivers.begin(), kLibvirtDrivers.end(), driver) == kLibvirtDrivers.end()) {
    return fail(v, "unknown URI scheme '" + scheme +
                       "' (drivers with balloon support: " + joined(kLibvirtDrivers) + ")");
  }
  const std::string transport = plus == std::string::npos ? "" : scheme.substr(plus + 1);
  if (!transport.empty() && std::find(kLibvirtTransports.begin(), kLibvirtTransports.end(),
                                      transport) == kLibvirtTransports.end()) {
    return fail(v, "unknown transport '" + transport + "' in URI scheme '" + scheme +
                       "' (known: " + joined(kLibvirtTransports) + ")");
  }
  return true;
}

bool DaemonGrammar::qmp(const Val& v, QmpSpec& q) {
  // Each entry's glob once: a second entry with the same glob is reported at its glob.
  auto entry = [&](const Val& item, bool) {
    if (!qmpSocket(item, q.sockets.emplace_back())) return false;
    const std::string& glob = q.sockets.back().glob;
    const auto earlier = q.sockets.end() - 1;
    const auto first = std::find_if(q.sockets.begin(), earlier,
                                    [&](const QmpSocketSpec& s) { return s.glob == glob; });
    return first == earlier ||
           fail(at(item, "glob"), "duplicate glob '" + glob + "' (also in sockets[" +
                                      std::to_string(first - q.sockets.begin()) + "])");
  };
  return map(v,
             {
                 {"sockets", [&](const Val& x) { return list(x, entry); }},
                 key(kQmpSection, "deadline_s", q.deadline_s),
                 flag("set_stats_period", q.set_stats_period),
                 key(kQmpSection, "stats_period_s", q.stats_period_s),
                 key(kQmpSection, "reconnect_max_s", q.reconnect_max_s),
             }) &&
         statsPeriod(v, q.set_stats_period, q.stats_period_s, "QEMU");
}

bool DaemonGrammar::qmpSocket(const Val& v, QmpSocketSpec& s) {
  auto glob = [&](const Val& x) {
    if (!str(x, s.glob)) return false;
    if (s.glob.find('\0') != std::string::npos) {
      return fail(x, "must not contain a NUL character");
    }
    return s.glob.starts_with('/') ||
           fail(x, "must be an absolute path (a glob such as /var/run/qemu-server/*.qmp), got '" +
                       s.glob + "'");
  };
  return map(
      v, {
             {"glob", glob, kRequired},
             {"mode", [&](const Val& x) { return choice(x, s.mode, kQmpModes, "socket mode"); }},
             {"name_from",
              [&](const Val& x) { return choice(x, s.name_from, kQmpNameSources, "name source"); }},
         });
}

bool DaemonGrammar::qmpDeadline(const Val& root, const Config& c) {
  const Val deadline = at(at(at(root, "channel"), "qmp"), "deadline_s");
  const bool written = !deadline.node.IsNull();
  if (c.channel.type != "qmp" && !written) return true;
  return c.channel.qmp.deadline_s < c.tick_s ||
         fail(deadline, "must be below tick_s (" + formatNumber(c.tick_s) + "), got " +
                            formatNumber(c.channel.qmp.deadline_s) +
                            (written ? "" : " (the default)"));
}

bool DaemonGrammar::sim(const Val& v, SimHostSpec& s) {
  std::set<std::string> names;
  return map(v, {
                    key(kSimSection, "total_mib", s.total_mib, kRequired),
                    key(kSimSection, "overhead_mib", s.overhead_mib),
                    key(kSimSection, "per_vm_overhead_mib", s.per_vm_overhead_mib),
                    {"vms",
                     [&](const Val& x) {
                       return list(x,
                                   [&](const Val& item, bool) {
                                     return simVm(item, s.vms.emplace_back(), names);
                                   }) &&
                              (!s.vms.empty() || fail(x, "must list at least one VM"));
                     },
                     kRequired},
                });
}

bool DaemonGrammar::simVm(const Val& v, SimVmSpec& vm, std::set<std::string>& names,
                          const std::vector<Field>& extra) {
  auto name = [&](const Val& x) {
    if (!str(x, vm.name)) return false;
    if (!validVmName(vm.name)) {
      return fail(x, "must be letters, digits, '_', '.' or '-', got '" + vm.name + "'");
    }
    return names.insert(vm.name).second || fail(x, "duplicate VM name '" + vm.name + "'");
  };
  std::vector<Field> fields = {
      {"name", name, kRequired},
      key(kSimVmSection, "max_mib", vm.max_mib, kRequired),
      key(kSimVmSection, "actual_mib", vm.actual_mib),
      key(kSimVmSection, "swap_mib", vm.swap_mib),
      key(kSimVmSection, "start_s", vm.start_s),
      key(kSimVmSection, "stop_s", vm.stop_s),
      {"workload", [&](const Val& x) { return workload(x, vm.workload); }},
      {"driver", [&](const Val& x) { return driver(x, vm.driver); }},
  };
  fields.insert(fields.end(), extra.begin(), extra.end());
  return map(v, fields) &&
         (!vm.actual_mib || *vm.actual_mib <= vm.max_mib ||
          fail(at(v, "actual_mib"), "must be at most max_mib (" + formatNumber(vm.max_mib) +
                                        "), got " + formatNumber(*vm.actual_mib))) &&
         (!vm.stop_s || *vm.stop_s > vm.start_s ||
          fail(at(v, "stop_s"), "must be above start_s (" + formatNumber(vm.start_s) + "), got " +
                                    formatNumber(*vm.stop_s)));
}

bool DaemonGrammar::workload(const Val& v, WorkloadSpec& w) {
  return map(v, {
                    key(kWorkloadSection, "kernel_mib", w.kernel_mib),
                    key(kWorkloadSection, "cache_mib", w.cache_mib),
                    flag("repeat", w.repeat),
                    key(kWorkloadSection, "restart_s", w.restart_s),
                    {"phases",
                     [&](const Val& x) {
                       return list(x, [&](const Val& item, bool last) {
                         return phase(item, w.phases.emplace_back(), last);
                       });
                     }},
                });
}

// `kind` is read first, because it decides which other keys the phase accepts.
bool DaemonGrammar::phase(const Val& v, PhaseSpec& p, bool last) {
  if (!v.node.IsMap() && !v.node.IsNull()) {
    return fail(v, "expected a map, got " + describe(v.node));
  }
  if (!v.node.IsMap() || !v.node["kind"]) return fail(v, "missing required key 'kind'");
  std::string kind;
  if (!choice(at(v, "kind"), kind, kPhaseKinds, "phase kind")) return false;

  std::vector<Field> fields = {{"kind", [](const Val&) { return true; }},
                               key(kPhaseSection, "duration_s", p.duration_s)};
  auto add = [&](std::initializer_list<Field> more) { fields.insert(fields.end(), more); };
  using Kind = PhaseSpec::Kind;
  if (kind == "constant") {
    p.kind = Kind::kConstant;
    add({key(kPhaseSection, "mib", p.mib, kRequired)});
  } else if (kind == "ramp") {
    p.kind = Kind::kRamp;
    add({key(kPhaseSection, "from_mib", p.from_mib, kRequired),
         key(kPhaseSection, "to_mib", p.to_mib, kRequired)});
  } else if (kind == "spike") {
    p.kind = Kind::kSpike;
    add({key(kPhaseSection, "mib", p.mib, kRequired),
         key(kPhaseSection, "peak_mib", p.peak_mib, kRequired), key(kPhaseSection, "at_s", p.at_s),
         key(kPhaseSection, "length_s", p.length_s, kRequired)});
  } else {
    p.kind = Kind::kPeriodic;
    add({key(kPhaseSection, "low_mib", p.low_mib, kRequired),
         key(kPhaseSection, "high_mib", p.high_mib, kRequired),
         key(kPhaseSection, "period_s", p.period_s, kRequired)});
  }
  if (!map(v, fields, "unknown key for a " + kind + " phase")) return false;

  if (p.duration_s == 0 && !last) {
    return fail(at(v, "duration_s"), "only the last phase may last forever (0 or unset)");
  }
  if (p.kind == Kind::kPeriodic && p.high_mib < p.low_mib) {
    return fail(at(v, "high_mib"), "must be at least low_mib (" + formatNumber(p.low_mib) +
                                       "), got " + formatNumber(p.high_mib));
  }
  if (p.kind == Kind::kSpike && p.duration_s > 0 && p.at_s + p.length_s > p.duration_s) {
    return fail(at(v, "length_s"), "at_s + length_s must be at most duration_s (" +
                                       formatNumber(p.duration_s) + "), got " +
                                       formatNumber(p.at_s + p.length_s));
  }
  return true;
}

bool DaemonGrammar::driver(const Val& v, DriverSpec& d) {
  return map(v,
             {
                 {"model",
                  [&](const Val& x) { return choice(x, d.model, kDriverModels, "driver model"); }},
                 key(kDriverSection, "rate_mib_s", d.rate_mib_s),
                 key(kDriverSection, "deflate_rate_mib_s", d.deflate_rate_mib_s),
                 key(kDriverSection, "pressure_rate_mib_s", d.pressure_rate_mib_s),
                 key(kDriverSection, "stats_period_s", d.stats_period_s),
                 key(kDriverSection, "short_kib", d.short_kib),
                 key(kDriverSection, "limit_mib", d.limit_mib),
                 key(kDriverSection, "work_s", d.work_s),
                 key(kDriverSection, "stall_s", d.stall_s),
                 key(kDriverSection, "from_s", d.from_s),
                 key(kDriverSection, "freeze_at_s", d.freeze_at_s),
             });
}

// Parameter names and ranges belong to the policy, so the registry checks them.
bool DaemonGrammar::policy(const Val& v, PolicySpec& p) {
  auto params = [&](const Val& x) {
    return entries(x, [&](const std::string& key, const Val&, const Val& value) {
      return number(value, p.params[key]);
    });
  };
  return map(v,
             {
                 {"name", [&](const Val& x) { return str(x, p.name); }},
                 {"params", params},
             }) &&
         checkPolicy(v, p);
}

// Each problem is reported where it is: an unknown policy at its name, an unknown parameter
// at its key, a value out of range at the value.
bool DaemonGrammar::checkPolicy(const Val& v, const PolicySpec& p) {
  const auto& registry = policy::Registry::instance();
  auto known = registry.resolveParams(p.name, {});
  if (!known) return fail(at(v, "name"), known.error().message);
  auto each = [&](const std::string& key, const Val& key_at, const Val& value) {
    auto one = registry.resolveParams(p.name, {{key, p.params.at(key)}});
    if (one) return true;
    return fail(one.error().message.starts_with("unknown") ? key_at : value, one.error().message);
  };
  if (!entries(at(v, "params"), each)) return false;
  auto resolved = registry.resolveParams(p.name, p.params);
  return resolved.ok() || fail(v, resolved.error().message);
}

bool DaemonGrammar::guards(const Val& v, GuardSpec& g) {
  return map(v, {
                    key("guards", "inflate_step_mib", g.inflate_step_mib),
                    key("guards", "deflate_step_mib", g.deflate_step_mib),
                    key("guards", "min_change_mib", g.min_change_mib),
                    key("guards", "need_margin_mib", g.need_margin_mib),
                    key("guards", "grow_holdoff_s", g.grow_holdoff_s),
                    key("guards", "host_reserve_mib", g.host_reserve_mib),
                    key("guards", "inflate_step_fraction", g.inflate_step_fraction),
                    key("guards", "emergency_step_factor", g.emergency_step_factor),
                });
}

bool DaemonGrammar::acks(const Val& v, AckSpec& a) {
  return map(v,
             {
                 key("acks", "min_rate_mib_s", a.min_rate_mib_s),
                 key("acks", "stuck_after_s", a.stuck_after_s),
                 key("acks", "uncooperative_window_s", a.uncooperative_window_s),
                 key("acks", "cooperative_after_s", a.cooperative_after_s),
                 key("acks", "stale_periods", a.stale_periods),
                 key("acks", "no_driver_after_s", a.no_driver_after_s),
             }) &&
         (a.uncooperative_window_s > a.stuck_after_s ||
          fail(at(v, "uncooperative_window_s"), "must be above stuck_after_s (" +
                                                    formatNumber(a.stuck_after_s) + "), got " +
                                                    formatNumber(a.uncooperative_window_s)));
}

bool DaemonGrammar::vmOverride(const Val& v, VmOverrideSpec& o) {
  auto match = [&](const Val& x) {
    return str(x, o.match) && (!o.match.empty() || fail(x, "must not be empty"));
  };
  return map(v,
             {
                 {"match", match, kRequired},
                 key(kOverrideSection, "floor_mib", o.floor_mib),
                 key(kOverrideSection, "ceiling_mib", o.ceiling_mib),
                 flag("excluded", o.excluded),
                 key(kOverrideSection, "shares", o.shares),
             }) &&
         (!o.floor_mib || !o.ceiling_mib || *o.floor_mib <= *o.ceiling_mib ||
          fail(at(v, "ceiling_mib"), "must be at least floor_mib (" + formatNumber(*o.floor_mib) +
                                         "), got " + formatNumber(*o.ceiling_mib)));
}

bool DaemonGrammar::control(const Val& v, ControlSpec& c) {
  auto socket = [&](const Val& x) {
    return str(x, c.socket) && ((!c.socket.empty() && c.socket.size() < kMaxSocketPath) ||
                                fail(x, "must be a path of 1 to " +
                                            std::to_string(kMaxSocketPath - 1) + " characters"));
  };
  return map(v, {
                    {"socket", socket},
                    {"group", [&](const Val& x) { return str(x, c.group); }},
                    {"admin_group", [&](const Val& x) { return str(x, c.admin_group); }},
                    key("control", "idle_timeout_s", c.idle_timeout_s),
                });
}

bool DaemonGrammar::metrics(const Val& v, MetricsSpec& m) {
  auto listen = [&](const Val& x) {
    return str(x, m.listen) &&
           (validListen(m.listen) || fail(x,
                                          "expected ADDRESS:PORT with an IP address and a port "
                                          "0-65535 (0: any free one), e.g. 127.0.0.1:9712, got '" +
                                              m.listen + "'"));
  };
  return map(v, {{"listen", listen}});
}

}  // namespace balloond::config
