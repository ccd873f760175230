// SPDX-License-Identifier: Apache-2.0
#include "config/loader.h"

#include <arpa/inet.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "config/scenario.h"
#include "policy/registry.h"

namespace balloond::config {
namespace {

constexpr double kMaxMib = 16777216;      // 16 TiB
constexpr double kMaxSeconds = 31536000;  // one year

// The valid range of every numeric key, by key name: a name means the same wherever it appears.
// `above_min` makes the lower bound exclusive. Checks between keys are noted at the right.
struct Range {
  std::string_view key;
  double min;
  double max;
  bool above_min = false;
};
constexpr Range kRanges[] = {
    {"tick_s", 0.05, 60},
    {"default_floor_mib", 0, kMaxMib},
    {"total_mib", 0, kMaxMib, true},
    {"overhead_mib", 0, kMaxMib},
    {"per_vm_overhead_mib", 0, kMaxMib},
    {"max_mib", 0, kMaxMib, true},
    {"actual_mib", 0, kMaxMib, true},  // and at most max_mib
    {"swap_mib", 0, kMaxMib},
    {"start_s", 0, kMaxSeconds},
    {"stop_s", 0, kMaxSeconds},  // and above start_s
    {"kernel_mib", 0, kMaxMib},
    {"cache_mib", 0, kMaxMib},
    {"restart_s", 0, kMaxSeconds},
    {"duration_s", 0, kMaxSeconds},  // 0 = forever, only in the last phase
    {"mib", 0, kMaxMib},
    {"from_mib", 0, kMaxMib},
    {"to_mib", 0, kMaxMib},
    {"peak_mib", 0, kMaxMib},
    {"at_s", 0, kMaxSeconds},
    {"length_s", 0, kMaxSeconds},  // and at_s + length_s at most duration_s, unless that is 0
    {"low_mib", 0, kMaxMib},
    {"high_mib", 0, kMaxMib},  // and at least low_mib
    {"period_s", 0, kMaxSeconds, true},
    {"rate_mib_s", 0, kMaxMib},
    {"deflate_rate_mib_s", 0, kMaxMib},
    {"pressure_rate_mib_s", 0, kMaxMib},
    {"stats_period_s", 0, 3600},  // 0 = never
    {"short_kib", 0, 1048576},
    {"limit_mib", 0, kMaxMib},
    {"work_s", 0, kMaxSeconds, true},
    {"stall_s", 0, kMaxSeconds},
    {"from_s", 0, kMaxSeconds},
    {"freeze_at_s", 0, kMaxSeconds},
    {"inflate_step_mib", 0, kMaxMib, true},
    {"deflate_step_mib", 0, kMaxMib, true},
    {"min_change_mib", 0, kMaxMib},
    {"need_margin_mib", 0, kMaxMib},
    {"grow_holdoff_s", 0, kMaxSeconds},
    {"host_reserve_mib", 0, kMaxMib},
    {"min_rate_mib_s", 0, kMaxMib, true},
    {"stuck_after_s", 0, 3600, true},
    {"uncooperative_window_s", 0, 86400, true},  // and above stuck_after_s
    {"stale_periods", 1, 1000},
    {"no_driver_after_s", 1, 3600},
    // Scenarios only.
    {"max_s", 0, kMaxSeconds, true},
    {"reserve_mib", 0, kMaxMib},
    {"reclaim_mib", 0, kMaxMib, true},
    {"within_s", 0, kMaxSeconds},
    {"to_s", 0, kMaxSeconds},
    {"target_min_mib", 0, kMaxMib},
    {"target_max_mib", 0, kMaxMib},
    {"actual_min_mib", 0, kMaxMib},
    {"actual_max_mib", 0, kMaxMib},
    {"pushes_at_most", 0, 1000000},
    {"floor_mib", 0, kMaxMib},
    {"ceiling_mib", 0, kMaxMib},  // and at least floor_mib
    {"inflate_step_fraction", 0, 1, true},
    {"emergency_step_factor", 1, 100},
    {"shares", 0, 1000000, true},
    {"reconnect_max_s", 1, 3600},
    {"idle_timeout_s", 0, 86400, true},
};

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

const std::vector<std::string_view> kChannelTypes = {"sim", "libvirt"};
// libvirt URI schemes: a driver with balloon support, optionally "+transport".
const std::vector<std::string_view> kLibvirtDrivers = {"qemu", "xen", "test"};
const std::vector<std::string_view> kLibvirtTransports = {"unix",   "ssh",     "tls", "tcp",
                                                          "libssh", "libssh2", "ext"};
// What a clean stop does to the guests (on_exit).
const std::vector<std::string_view> kOnExit = {"keep", "restore"};
const std::vector<std::string_view> kPhaseKinds = {"constant", "ramp", "spike", "periodic"};
const std::vector<std::string_view> kDriverModels = {
    "ideal",          "slow",      "stuck",       "intermittent", "hidden-floor",
    "hidden-ceiling", "no-driver", "stale-stats", "lying"};
constexpr bool kRequired = true;

// Shortest text that reads back as the same number: 16777216, 0.05, 1e+20.
std::string fmt(double v) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return {buf, end};
}

std::string joined(const std::vector<std::string_view>& words) {
  std::string out;
  for (auto w : words) {
    out += (out.empty() ? "" : ", ") + std::string(w);
  }
  return out;
}

// "FILE:LINE:COL: " from yaml-cpp's 0-based mark; an empty document has no mark: 1:1.
std::string where(const std::string& source, const YAML::Mark& mark) {
  return source + ":" + std::to_string(std::max(mark.line, 0) + 1) + ":" +
         std::to_string(std::max(mark.column, 0) + 1) + ": ";
}

std::string describe(const YAML::Node& node) {
  if (node.IsScalar()) return "'" + node.Scalar() + "'";
  if (node.IsMap()) return "a map";
  if (node.IsSequence()) return "a list";
  return "nothing";
}

bool validVmName(const std::string& name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
  });
}

// A value in the document: its node, dotted key path, and the position to report. A null value
// (`key:` with nothing after it) is reported at its key, since yaml-cpp marks it at the next token.
struct Val {
  YAML::Node node;
  std::string path;
  YAML::Mark mark;
};

// One key a map accepts: how to read its value, and whether it must be present.
struct Field {
  std::string_view key;
  std::function<bool(const Val&)> read;
  bool required = false;
};

// Walks the document in order and fills the spec structs. Every read returns false once it has
// recorded an error, and callers stop there, so the first error in the document is the one kept.
class Reader {
 public:
  explicit Reader(std::string source) : source_(std::move(source)) {}
  const Error& error() const { return error_; }

  bool config(const Val& v, Config& c) {
    bool have_policy = false;
    return map(v,
               {
                   num("tick_s", c.tick_s),
                   num("default_floor_mib", c.default_floor_mib),
                   {"state_dir",
                    [&](const Val& x) {
                      std::string dir;
                      if (!str(x, dir)) return false;
                      c.state_dir = dir;
                      return dir.starts_with('/') ||
                             fail(x, "must be an absolute path, got '" + dir + "'");
                    }},
                   {"channel", [&](const Val& x) { return channel(x, c.channel); }, kRequired},
                   {"policy",
                    [&](const Val& x) {
                      have_policy = true;
                      return policy(x, c.policy);
                    }},
                   {"guards", [&](const Val& x) { return guards(x, c.guards); }},
                   {"acks", [&](const Val& x) { return acks(x, c.acks); }},
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
               }) &&
           (have_policy || checkPolicy(at(v, "policy"), c.policy));
  }

 private:
  // --- Sections, one per spec struct.

  bool channel(const Val& v, ChannelSpec& c) {
    bool have_sim = false;
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
               }) &&
           (have_sim || c.type != "sim" || fail(v, "missing required key 'sim'"));
  }

  bool libvirt(const Val& v, LibvirtSpec& l) {
    return map(v,
               {
                   {"uri", [&](const Val& x) { return str(x, l.uri) && libvirtUri(x, l.uri); }},
                   flag("set_stats_period", l.set_stats_period),
                   num("stats_period_s", l.stats_period_s),
                   num("reconnect_max_s", l.reconnect_max_s),
               }) &&
           (l.stats_period_s == std::floor(l.stats_period_s) ||
            fail(at(v, "stats_period_s"),
                 "libvirt takes whole seconds, got " + fmt(l.stats_period_s))) &&
           (!l.set_stats_period || l.stats_period_s >= 1 ||
            fail(at(v, "stats_period_s"), "must be at least 1 when set_stats_period is true"));
  }

  bool libvirtUri(const Val& v, const std::string& uri) {
    const auto colon = uri.find(':');
    if (colon == std::string::npos || colon == 0) {
      return fail(v, "expected a libvirt URI such as qemu:///system, got '" + uri + "'");
    }
    const std::string scheme = uri.substr(0, colon);
    const auto plus = scheme.find('+');
    const std::string driver = scheme.substr(0, plus);
    if (std::find(kLibvirtDrivers.begin(), kLibvirtDrivers.end(), driver) ==
        kLibvirtDrivers.end()) {
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

  bool sim(const Val& v, SimHostSpec& s) {
    std::set<std::string> names;
    return map(v, {
                      num("total_mib", s.total_mib, kRequired),
                      num("overhead_mib", s.overhead_mib),
                      num("per_vm_overhead_mib", s.per_vm_overhead_mib),
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

  bool simVm(const Val& v, SimVmSpec& vm, std::set<std::string>& names,
             const std::vector<Field>& extra = {}) {
    auto name = [&](const Val& x) {
      if (!str(x, vm.name)) return false;
      if (!validVmName(vm.name)) {
        return fail(x, "must be letters, digits, '_', '.' or '-', got '" + vm.name + "'");
      }
      return names.insert(vm.name).second || fail(x, "duplicate VM name '" + vm.name + "'");
    };
    std::vector<Field> fields = {
        {"name", name, kRequired},
        num("max_mib", vm.max_mib, kRequired),
        num("actual_mib", vm.actual_mib),
        num("swap_mib", vm.swap_mib),
        num("start_s", vm.start_s),
        num("stop_s", vm.stop_s),
        {"workload", [&](const Val& x) { return workload(x, vm.workload); }},
        {"driver", [&](const Val& x) { return driver(x, vm.driver); }},
    };
    fields.insert(fields.end(), extra.begin(), extra.end());
    return map(v, fields) &&
           (!vm.actual_mib || *vm.actual_mib <= vm.max_mib ||
            fail(at(v, "actual_mib"), "must be at most max_mib (" + fmt(vm.max_mib) + "), got " +
                                          fmt(*vm.actual_mib))) &&
           (!vm.stop_s || *vm.stop_s > vm.start_s ||
            fail(at(v, "stop_s"),
                 "must be above start_s (" + fmt(vm.start_s) + "), got " + fmt(*vm.stop_s)));
  }

  bool workload(const Val& v, WorkloadSpec& w) {
    return map(v, {
                      num("kernel_mib", w.kernel_mib),
                      num("cache_mib", w.cache_mib),
                      flag("repeat", w.repeat),
                      num("restart_s", w.restart_s),
                      {"phases",
                       [&](const Val& x) {
                         return list(x, [&](const Val& item, bool last) {
                           return phase(item, w.phases.emplace_back(), last);
                         });
                       }},
                  });
  }

  // `kind` is read first, because it decides which other keys the phase accepts.
  bool phase(const Val& v, PhaseSpec& p, bool last) {
    if (!v.node.IsMap() && !v.node.IsNull()) {
      return fail(v, "expected a map, got " + describe(v.node));
    }
    if (!v.node.IsMap() || !v.node["kind"]) return fail(v, "missing required key 'kind'");
    std::string kind;
    if (!choice(at(v, "kind"), kind, kPhaseKinds, "phase kind")) return false;

    std::vector<Field> fields = {{"kind", [](const Val&) { return true; }},
                                 num("duration_s", p.duration_s)};
    auto add = [&](std::initializer_list<Field> more) { fields.insert(fields.end(), more); };
    using Kind = PhaseSpec::Kind;
    if (kind == "constant") {
      p.kind = Kind::kConstant;
      add({num("mib", p.mib, kRequired)});
    } else if (kind == "ramp") {
      p.kind = Kind::kRamp;
      add({num("from_mib", p.from_mib, kRequired), num("to_mib", p.to_mib, kRequired)});
    } else if (kind == "spike") {
      p.kind = Kind::kSpike;
      add({num("mib", p.mib, kRequired), num("peak_mib", p.peak_mib, kRequired),
           num("at_s", p.at_s), num("length_s", p.length_s, kRequired)});
    } else {
      p.kind = Kind::kPeriodic;
      add({num("low_mib", p.low_mib, kRequired), num("high_mib", p.high_mib, kRequired),
           num("period_s", p.period_s, kRequired)});
    }
    if (!map(v, fields, "unknown key for a " + kind + " phase")) return false;

    if (p.duration_s == 0 && !last) {
      return fail(at(v, "duration_s"), "only the last phase may last forever (0 or unset)");
    }
    if (p.kind == Kind::kPeriodic && p.high_mib < p.low_mib) {
      return fail(at(v, "high_mib"),
                  "must be at least low_mib (" + fmt(p.low_mib) + "), got " + fmt(p.high_mib));
    }
    if (p.kind == Kind::kSpike && p.duration_s > 0 && p.at_s + p.length_s > p.duration_s) {
      return fail(at(v, "length_s"), "at_s + length_s must be at most duration_s (" +
                                         fmt(p.duration_s) + "), got " + fmt(p.at_s + p.length_s));
    }
    return true;
  }

  bool driver(const Val& v, DriverSpec& d) {
    return map(
        v, {
               {"model",
                [&](const Val& x) { return choice(x, d.model, kDriverModels, "driver model"); }},
               num("rate_mib_s", d.rate_mib_s),
               num("deflate_rate_mib_s", d.deflate_rate_mib_s),
               num("pressure_rate_mib_s", d.pressure_rate_mib_s),
               num("stats_period_s", d.stats_period_s),
               num("short_kib", d.short_kib),
               num("limit_mib", d.limit_mib),
               num("work_s", d.work_s),
               num("stall_s", d.stall_s),
               num("from_s", d.from_s),
               num("freeze_at_s", d.freeze_at_s),
           });
  }

  // Parameter names and ranges belong to the policy, so the registry checks them.
  bool policy(const Val& v, PolicySpec& p) {
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
  bool checkPolicy(const Val& v, const PolicySpec& p) {
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

  bool guards(const Val& v, GuardSpec& g) {
    return map(v, {
                      num("inflate_step_mib", g.inflate_step_mib),
                      num("deflate_step_mib", g.deflate_step_mib),
                      num("min_change_mib", g.min_change_mib),
                      num("need_margin_mib", g.need_margin_mib),
                      num("grow_holdoff_s", g.grow_holdoff_s),
                      num("host_reserve_mib", g.host_reserve_mib),
                      num("inflate_step_fraction", g.inflate_step_fraction),
                      num("emergency_step_factor", g.emergency_step_factor),
                  });
  }

  bool acks(const Val& v, AckSpec& a) {
    return map(v,
               {
                   num("min_rate_mib_s", a.min_rate_mib_s),
                   num("stuck_after_s", a.stuck_after_s),
                   num("uncooperative_window_s", a.uncooperative_window_s),
                   num("stale_periods", a.stale_periods),
                   num("no_driver_after_s", a.no_driver_after_s),
               }) &&
           (a.uncooperative_window_s > a.stuck_after_s ||
            fail(at(v, "uncooperative_window_s"), "must be above stuck_after_s (" +
                                                      fmt(a.stuck_after_s) + "), got " +
                                                      fmt(a.uncooperative_window_s)));
  }

  bool vmOverride(const Val& v, VmOverrideSpec& o) {
    auto match = [&](const Val& x) {
      return str(x, o.match) && (!o.match.empty() || fail(x, "must not be empty"));
    };
    return map(v,
               {
                   {"match", match, kRequired},
                   num("floor_mib", o.floor_mib),
                   num("ceiling_mib", o.ceiling_mib),
                   flag("excluded", o.excluded),
                   num("shares", o.shares),
               }) &&
           (!o.floor_mib || !o.ceiling_mib || *o.floor_mib <= *o.ceiling_mib ||
            fail(at(v, "ceiling_mib"), "must be at least floor_mib (" + fmt(*o.floor_mib) +
                                           "), got " + fmt(*o.ceiling_mib)));
  }

  bool control(const Val& v, ControlSpec& c) {
    auto socket = [&](const Val& x) {
      return str(x, c.socket) && ((!c.socket.empty() && c.socket.size() < kMaxSocketPath) ||
                                  fail(x, "must be a path of 1 to " +
                                              std::to_string(kMaxSocketPath - 1) + " characters"));
    };
    return map(v, {
                      {"socket", socket},
                      {"group", [&](const Val& x) { return str(x, c.group); }},
                      {"admin_group", [&](const Val& x) { return str(x, c.admin_group); }},
                      num("idle_timeout_s", c.idle_timeout_s),
                  });
  }

  bool metrics(const Val& v, MetricsSpec& m) {
    auto listen = [&](const Val& x) {
      return str(x, m.listen) && (validListen(m.listen) ||
                                  fail(x,
                                       "expected ADDRESS:PORT with an IP address and a port "
                                       "0-65535 (0: any free one), e.g. 127.0.0.1:9712, got '" +
                                           m.listen + "'"));
    };
    return map(v, {{"listen", listen}});
  }

  // --- Scenarios: a simulated host with per-VM limits, events and expectations.

 public:
  bool scenario(const Val& v, ScenarioSpec& sc) {
    Config& c = sc.config;
    c.channel.type = "sim";
    std::set<std::string> names;
    bool have_policy = false;
    auto vm = [&](const Val& item, bool) {
      SimVmSpec& spec = c.channel.sim.vms.emplace_back();
      VmOverrideSpec& limits = c.vms.emplace_back();
      return simVm(item, spec, names,
                   {num("floor_mib", limits.floor_mib), num("ceiling_mib", limits.ceiling_mib),
                    flag("excluded", limits.excluded)}) &&
             ((limits.match = spec.name), true);
    };
    return map(v,
               {
                   {"name", [&](const Val& x) { return str(x, sc.name); }, kRequired},
                   {"clock", [&](const Val& x) { return clock(x, sc); }, kRequired},
                   {"host", [&](const Val& x) { return host(x, c); }, kRequired},
                   num("default_floor_mib", c.default_floor_mib),
                   {"policy",
                    [&](const Val& x) {
                      have_policy = true;
                      return policy(x, c.policy);
                    }},
                   {"guards", [&](const Val& x) { return guards(x, c.guards); }},
                   {"acks", [&](const Val& x) { return acks(x, c.acks); }},
                   {"vms", [&](const Val& x) { return list(x, vm); }, kRequired},
                   {"events",
                    [&](const Val& x) {
                      return list(x, [&](const Val& item, bool) {
                        return event(item, sc.events.emplace_back(), names);
                      });
                    }},
                   {"expect", [&](const Val& x) { return expect(x, sc, names); }},
                   {"must_break", [&](const Val& x) { return str(x, sc.must_break.emplace()); }},
               }) &&
           (have_policy || checkPolicy(at(v, "policy"), c.policy)) &&
           (!sc.must_break || mustBreakNamesAnExpectation(at(v, "must_break"), sc));
  }

 private:
  bool clock(const Val& v, ScenarioSpec& sc) {
    return map(v, {num("tick_s", sc.tick_s), num("max_s", sc.max_s, kRequired)});
  }

  bool host(const Val& v, Config& c) {
    return map(v, {
                      num("total_mib", c.channel.sim.total_mib, kRequired),
                      num("reserve_mib", c.guards.host_reserve_mib),
                      num("overhead_mib", c.channel.sim.overhead_mib),
                      num("per_vm_overhead_mib", c.channel.sim.per_vm_overhead_mib),
                  });
  }

  bool knownVm(const Val& v, const std::string& name, const std::set<std::string>& names) {
    return names.contains(name) || fail(v, "no VM named '" + name + "' in vms");
  }

  // One event: `at_s` and exactly one of reclaim_mib, workload (with vm), start, stop.
  bool event(const Val& v, ScenarioEvent& e, const std::set<std::string>& names) {
    int kinds = 0;
    auto kind = [&](ScenarioEvent::Kind k) {
      e.kind = k;
      ++kinds;
    };
    auto named = [&](ScenarioEvent::Kind k) {
      return [&, k](const Val& x) {
        kind(k);
        return str(x, e.vm) && knownVm(x, e.vm, names);
      };
    };
    using K = ScenarioEvent::Kind;
    return map(v,
               {
                   num("at_s", e.at_s, kRequired),
                   {"reclaim_mib",
                    [&](const Val& x) {
                      kind(K::kReclaim);
                      return number(x, "reclaim_mib", e.reclaim_mib);
                    }},
                   {"vm", [&](const Val& x) { return str(x, e.vm) && knownVm(x, e.vm, names); }},
                   {"workload",
                    [&](const Val& x) {
                      kind(K::kWorkload);
                      return workload(x, e.workload);
                    }},
                   {"start", named(K::kStart)},
                   {"stop", named(K::kStop)},
               }) &&
           (kinds == 1 || fail(v, "needs exactly one of reclaim_mib, workload, start or stop")) &&
           (e.kind != K::kWorkload || !e.vm.empty() || fail(v, "a workload event needs 'vm'"));
  }

  bool expect(const Val& v, ScenarioSpec& sc, const std::set<std::string>& names) {
    auto invariant = [&](const Val& x, bool) {
      std::string name;
      std::vector<std::string_view> known(knownInvariants().begin(), knownInvariants().end());
      return choice(x, name, known, "invariant") && (sc.invariants.push_back(name), true);
    };
    return map(v, {
                      {"outcome", [&](const Val& x) { return outcome(x, sc.outcome.emplace()); }},
                      {"vms",
                       [&](const Val& x) {
                         return list(x, [&](const Val& item, bool) {
                           return vmExpectation(item, sc.vm_expectations.emplace_back(), names);
                         });
                       }},
                      {"invariants", [&](const Val& x) { return list(x, invariant); }},
                  });
  }

  bool outcome(const Val& v, OutcomeExpectation& o) {
    static const std::vector<std::string_view> kOutcomes = {"success", "cannot-free", "refused"};
    auto refused = [&](const Val& x) {
      auto& out = o.refused.emplace();
      return list(x, [&](const Val& item, bool) { return str(item, out.emplace_back()); });
    };
    return map(
        v, {
               {"reclaim", [&](const Val& x) { return choice(x, o.outcome, kOutcomes, "outcome"); },
                kRequired},
               num("within_s", o.within_s),
               {"refused", refused},
           });
  }

  bool vmExpectation(const Val& v, VmExpectation& e, const std::set<std::string>& names) {
    static const std::vector<std::string_view> kStates = {
        "settled", "converging", "stuck", "uncooperative", "no-driver", "stale", "excluded"};
    auto state = [&](std::optional<std::string>& out) {
      return [&](const Val& x) { return choice(x, out.emplace(), kStates, "state"); };
    };
    double pushes = -1;
    return map(v,
               {
                   {"vm", [&](const Val& x) { return str(x, e.vm) && knownVm(x, e.vm, names); },
                    kRequired},
                   num("at_s", e.at_s),
                   num("from_s", e.from_s),
                   num("to_s", e.to_s),
                   {"state", state(e.state)},
                   {"never", state(e.never)},
                   {"ever", state(e.ever)},
                   {"reason_contains",
                    [&](const Val& x) { return str(x, e.reason_contains.emplace()); }},
                   num("target_min_mib", e.target_min_mib),
                   num("target_max_mib", e.target_max_mib),
                   num("actual_min_mib", e.actual_min_mib),
                   num("actual_max_mib", e.actual_max_mib),
                   num("pushes_at_most", pushes),
               }) &&
           ((pushes < 0) || ((e.pushes_at_most = static_cast<int>(pushes)), true)) &&
           (!e.at_s || (!e.to_s && e.from_s == 0) ||
            fail(v, "give either at_s or a from_s/to_s window, not both"));
  }

  bool mustBreakNamesAnExpectation(const Val& v, const ScenarioSpec& sc) {
    const std::string& name = *sc.must_break;
    const bool invariant =
        std::find(sc.invariants.begin(), sc.invariants.end(), name) != sc.invariants.end();
    const bool outcome = name == "outcome" && sc.outcome;
    const bool vm = name.rfind("vms[", 0) == 0 && name.back() == ']' &&
                    std::stoul(name.substr(4)) < sc.vm_expectations.size();
    return invariant || outcome || vm ||
           fail(v,
                "names no expectation of this scenario (an invariant it lists, 'outcome', "
                "or 'vms[N]')");
  }

  // --- Generic readers.

  bool fail(const Val& v, const std::string& problem) {
    error_.message = where(source_, v.mark) + (v.path.empty() ? "" : v.path + ": ") + problem;
    return false;
  }

  // The value of `key` in map `v`, for checks between keys; when absent, at the map's position.
  static Val at(const Val& v, std::string_view key) {
    std::string path = v.path.empty() ? std::string(key) : v.path + "." + std::string(key);
    YAML::Node node = v.node.IsMap() ? v.node[std::string(key)] : YAML::Node();
    if (!node.IsDefined() || node.IsNull()) return {YAML::Node(), std::move(path), v.mark};
    return {node, std::move(path), node.Mark()};
  }

  // Calls `entry(key, key_at, value)` for each key of a map in document order; rejects anything
  // but a map (an empty value reads as an empty map) and keys given twice.
  bool entries(const Val& v,
               const std::function<bool(const std::string&, const Val&, const Val&)>& entry) {
    if (v.node.IsNull()) return true;
    if (!v.node.IsMap()) return fail(v, "expected a map, got " + describe(v.node));
    std::set<std::string> seen;
    for (const auto& kv : v.node) {
      const std::string key = kv.first.Scalar();
      Val key_at{kv.first, v.path.empty() ? key : v.path + "." + key, kv.first.Mark()};
      if (!seen.insert(key).second) return fail(key_at, "duplicate key");
      const YAML::Mark mark = kv.second.IsNull() ? key_at.mark : kv.second.Mark();
      if (!entry(key, key_at, Val{kv.second, key_at.path, mark})) return false;
    }
    return true;
  }

  // Reads a map whose keys must all be among `fields`; then checks the required ones are there.
  bool map(const Val& v, const std::vector<Field>& fields,
           const std::string& unknown = "unknown key") {
    std::set<std::string_view> seen;
    auto entry = [&](const std::string& key, const Val& key_at, const Val& value) {
      auto f =
          std::find_if(fields.begin(), fields.end(), [&](const Field& x) { return x.key == key; });
      if (f == fields.end()) {
        std::vector<std::string_view> known;
        known.reserve(fields.size());
        for (const auto& x : fields) known.push_back(x.key);
        return fail(key_at, unknown + " (known: " + joined(known) + ")");
      }
      seen.insert(f->key);
      return f->read(value);
    };
    if (!entries(v, entry)) return false;
    for (const auto& f : fields) {
      if (f.required && !seen.contains(f.key)) {
        return fail(v, "missing required key '" + std::string(f.key) + "'");
      }
    }
    return true;
  }

  // Reads a list item by item; an empty value reads as no items.
  bool list(const Val& v, const std::function<bool(const Val&, bool last)>& item) {
    if (v.node.IsNull()) return true;
    if (!v.node.IsSequence()) return fail(v, "expected a list, got " + describe(v.node));
    for (std::size_t i = 0; i < v.node.size(); ++i) {
      const YAML::Node n = v.node[i];
      Val x{n, v.path + "[" + std::to_string(i) + "]", n.IsNull() ? v.mark : n.Mark()};
      if (!item(x, i + 1 == v.node.size())) return false;
    }
    return true;
  }

  bool number(const Val& v, double& out) {
    const std::string s = v.node.IsScalar() ? v.node.Scalar() : "";
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size() || !std::isfinite(out)) {
      return fail(v, "expected a number, got " + describe(v.node));
    }
    return true;
  }

  bool number(const Val& v, std::string_view key, double& out) {
    const auto* r = std::find_if(std::begin(kRanges), std::end(kRanges),
                                 [&](const Range& x) { return x.key == key; });
    if (!number(v, out)) return false;
    if (r == std::end(kRanges)) return fail(v, "internal error: no range for this key");
    if (out > r->max || (r->above_min ? out <= r->min : out < r->min)) {
      return fail(v, (r->above_min ? "must be above " + fmt(r->min) + " and at most "
                                   : "must be between " + fmt(r->min) + " and ") +
                         fmt(r->max) + ", got " + fmt(out));
    }
    return true;
  }

  bool str(const Val& v, std::string& out) {
    if (!v.node.IsScalar()) return fail(v, "expected a string, got " + describe(v.node));
    out = v.node.Scalar();
    return true;
  }

  // Reads a string that must be one of `known`; `what` names it in the message.
  bool choice(const Val& v, std::string& out, const std::vector<std::string_view>& known,
              const std::string& what) {
    if (!str(v, out)) return false;
    if (std::find(known.begin(), known.end(), out) != known.end()) return true;
    return fail(v, "unknown " + what + " '" + out + "' (known: " + joined(known) + ")");
  }

  template <typename T>  // double or std::optional<double>
  Field num(std::string_view key, T& out, bool required = false) {
    return {key,
            [this, key, &out](const Val& v) {
              double d = 0;
              if (!number(v, key, d)) return false;
              out = d;
              return true;
            },
            required};
  }

  template <typename T>  // bool or std::optional<bool>
  Field flag(std::string_view key, T& out) {
    return {key, [this, &out](const Val& v) {
              const std::string s = v.node.IsScalar() ? v.node.Scalar() : "";
              if (s != "true" && s != "false") {
                return fail(v, "expected true or false, got " + describe(v.node));
              }
              out = s == "true";
              return true;
            }};
  }

  std::string source_;
  Error error_;
};

}  // namespace

Result<Config> parseConfig(const std::string& text, const std::string& source) {
  try {
    const YAML::Node root = YAML::Load(text);
    Reader reader(source);
    Config config;
    config.source = source;
    if (!reader.config(Val{root, "", root.Mark()}, config)) return reader.error();
    return config;
  } catch (const YAML::ParserException& e) {
    return Error{where(source, e.mark) + "syntax error: " + e.msg};
  } catch (const std::exception& e) {
    return Error{source + ": internal error: " + e.what()};
  } catch (...) {
    return Error{source + ": internal error"};
  }
}

namespace {

// The whole file, or an error naming it and the reason.
Result<std::string> readFile(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return Error{path +
                 ": cannot read: " + std::make_error_code(std::errc::is_a_directory).message()};
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Error{path + ": cannot read: " + std::generic_category().message(errno)};
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    return Error{path + ": cannot read: " + std::generic_category().message(errno)};
  }
  return text.str();
}

}  // namespace

Result<Config> loadConfigFile(const std::string& path) {
  auto text = readFile(path);
  if (!text) {
    return text.error();
  }
  return parseConfig(*text, path);
}

const std::vector<std::string>& knownInvariants() {
  static const std::vector<std::string> kInvariants = {
      "no_target_below_floor", "no_target_above_ceiling", "host_free_never_below_reserve",
      "free_before_allocate", "no_oom"};
  return kInvariants;
}

Result<ScenarioSpec> parseScenario(const std::string& text, const std::string& source) {
  try {
    const YAML::Node root = YAML::Load(text);
    Reader reader(source);
    ScenarioSpec sc;
    sc.source = source;
    sc.config.source = source;
    if (!reader.scenario(Val{root, "", root.Mark()}, sc)) return reader.error();
    sc.config.tick_s = sc.tick_s;
    return sc;
  } catch (const YAML::ParserException& e) {
    return Error{where(source, e.mark) + "syntax error: " + e.msg};
  } catch (const std::exception& e) {
    return Error{source + ": internal error: " + e.what()};
  }
}

Result<ScenarioSpec> loadScenarioFile(const std::string& path) {
  auto text = readFile(path);
  if (!text) {
    return text.error();
  }
  return parseScenario(*text, path);
}

}  // namespace balloond::config
