// SPDX-License-Identifier: Apache-2.0
#include "config/scenario.h"

#include <algorithm>
#include <set>
#include <string_view>

#include "config/daemon_grammar.h"
#include "config/yaml_reader.h"

namespace balloond::config {
namespace {

constexpr std::string_view kExpectVm = "expect.vms[]";

// The ranges of the keys only scenarios have, by path; the keys a scenario shares with the
// daemon config (tick_s, host.total_mib, vms[].floor_mib, ...) take theirs from the key table.
struct ScenarioKey {
  std::string_view path;
  Range range;
};
constexpr ScenarioKey kScenarioKeys[] = {
    {"clock.max_s", {0, kMaxSeconds, true}},       {"events[].at_s", {0, kMaxSeconds}},
    {"events[].reclaim_mib", {0, kMaxMib, true}},  {"expect.outcome.within_s", {0, kMaxSeconds}},
    {"expect.vms[].at_s", {0, kMaxSeconds}},       {"expect.vms[].from_s", {0, kMaxSeconds}},
    {"expect.vms[].to_s", {0, kMaxSeconds}},       {"expect.vms[].target_min_mib", {0, kMaxMib}},
    {"expect.vms[].target_max_mib", {0, kMaxMib}}, {"expect.vms[].actual_min_mib", {0, kMaxMib}},
    {"expect.vms[].actual_max_mib", {0, kMaxMib}}, {"expect.vms[].pushes_at_most", {0, 1000000}},
};

std::optional<Range> scenarioRange(std::string_view path) {
  const auto* k = std::find_if(std::begin(kScenarioKeys), std::end(kScenarioKeys),
                               [&](const ScenarioKey& x) { return x.path == path; });
  if (k == std::end(kScenarioKeys)) return std::nullopt;
  return k->range;
}

// The scenario grammar: a simulated host with per-VM limits, events and expectations. Shares
// the daemon grammar's sections for VMs, workloads, drivers, policy, guards and acks.
class ScenarioGrammar : public DaemonGrammar {
 public:
  using DaemonGrammar::DaemonGrammar;

  bool scenario(const Val& v, ScenarioSpec& sc);

 private:
  // A numeric key only scenarios have, with its range from kScenarioKeys.
  template <typename T>
  Field own(std::string_view section, std::string_view key, T& out, bool required = false) {
    return num(key, out, scenarioRange(std::string(section) + "." + std::string(key)), required);
  }

  bool clock(const Val& v, ScenarioSpec& sc);
  bool host(const Val& v, Config& c);
  bool knownVm(const Val& v, const std::string& name, const std::set<std::string>& names);
  bool event(const Val& v, ScenarioEvent& e, const std::set<std::string>& names);
  bool expect(const Val& v, ScenarioSpec& sc, const std::set<std::string>& names);
  bool outcome(const Val& v, OutcomeExpectation& o);
  bool vmExpectation(const Val& v, VmExpectation& e, const std::set<std::string>& names);
  bool mustBreakNamesAnExpectation(const Val& v, const ScenarioSpec& sc);
};

bool ScenarioGrammar::scenario(const Val& v, ScenarioSpec& sc) {
  Config& c = sc.config;
  c.channel.type = "sim";
  std::set<std::string> names;
  bool have_policy = false;
  auto vm = [&](const Val& item, bool) {
    SimVmSpec& spec = c.channel.sim.vms.emplace_back();
    VmOverrideSpec& limits = c.vms.emplace_back();
    return simVm(item, spec, names,
                 {num("floor_mib", limits.floor_mib, keyRange("vms[].floor_mib")),
                  num("ceiling_mib", limits.ceiling_mib, keyRange("vms[].ceiling_mib")),
                  flag("excluded", limits.excluded)}) &&
           ((limits.match = spec.name), true);
  };
  std::vector<Field> fields = {
      {"name", [&](const Val& x) { return str(x, sc.name); }, kRequired},
      {"clock", [&](const Val& x) { return clock(x, sc); }, kRequired},
      {"host", [&](const Val& x) { return host(x, c); }, kRequired},
      key("", "default_floor_mib", c.default_floor_mib),
  };
  addDecisionSections(fields, c, have_policy);
  fields.insert(fields.end(),
                {
                    {"vms", [&](const Val& x) { return list(x, vm); }, kRequired},
                    {"events",
                     [&](const Val& x) {
                       return list(x, [&](const Val& item, bool) {
                         return event(item, sc.events.emplace_back(), names);
                       });
                     }},
                    {"expect", [&](const Val& x) { return expect(x, sc, names); }},
                    {"must_break", [&](const Val& x) { return str(x, sc.must_break.emplace()); }},
                });
  return map(v, fields) && (have_policy || checkPolicy(at(v, "policy"), c.policy)) &&
         (!sc.must_break || mustBreakNamesAnExpectation(at(v, "must_break"), sc));
}

bool ScenarioGrammar::clock(const Val& v, ScenarioSpec& sc) {
  return map(v, {key("", "tick_s", sc.tick_s), own("clock", "max_s", sc.max_s, kRequired)});
}

bool ScenarioGrammar::host(const Val& v, Config& c) {
  return map(v,
             {
                 key("channel.sim", "total_mib", c.channel.sim.total_mib, kRequired),
                 num("reserve_mib", c.guards.host_reserve_mib, keyRange("guards.host_reserve_mib")),
                 key("channel.sim", "overhead_mib", c.channel.sim.overhead_mib),
                 key("channel.sim", "per_vm_overhead_mib", c.channel.sim.per_vm_overhead_mib),
             });
}

bool ScenarioGrammar::knownVm(const Val& v, const std::string& name,
                              const std::set<std::string>& names) {
  return names.contains(name) || fail(v, "no VM named '" + name + "' in vms");
}

// One event: `at_s` and exactly one of reclaim_mib, workload (with vm), start, stop.
bool ScenarioGrammar::event(const Val& v, ScenarioEvent& e, const std::set<std::string>& names) {
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
                 own("events[]", "at_s", e.at_s, kRequired),
                 {"reclaim_mib",
                  [&](const Val& x) {
                    kind(K::kReclaim);
                    return number(x, scenarioRange("events[].reclaim_mib"), e.reclaim_mib);
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

bool ScenarioGrammar::expect(const Val& v, ScenarioSpec& sc, const std::set<std::string>& names) {
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

bool ScenarioGrammar::outcome(const Val& v, OutcomeExpectation& o) {
  static const std::vector<std::string_view> kOutcomes = {"success", "cannot-free", "refused"};
  auto refused = [&](const Val& x) {
    auto& out = o.refused.emplace();
    return list(x, [&](const Val& item, bool) { return str(item, out.emplace_back()); });
  };
  return map(
      v, {
             {"reclaim", [&](const Val& x) { return choice(x, o.outcome, kOutcomes, "outcome"); },
              kRequired},
             own("expect.outcome", "within_s", o.within_s),
             {"refused", refused},
         });
}

bool ScenarioGrammar::vmExpectation(const Val& v, VmExpectation& e,
                                    const std::set<std::string>& names) {
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
                 own(kExpectVm, "at_s", e.at_s),
                 own(kExpectVm, "from_s", e.from_s),
                 own(kExpectVm, "to_s", e.to_s),
                 {"state", state(e.state)},
                 {"never", state(e.never)},
                 {"ever", state(e.ever)},
                 {"reason_contains",
                  [&](const Val& x) { return str(x, e.reason_contains.emplace()); }},
                 own(kExpectVm, "target_min_mib", e.target_min_mib),
                 own(kExpectVm, "target_max_mib", e.target_max_mib),
                 own(kExpectVm, "actual_min_mib", e.actual_min_mib),
                 own(kExpectVm, "actual_max_mib", e.actual_max_mib),
                 own(kExpectVm, "pushes_at_most", pushes),
             }) &&
         ((pushes < 0) || ((e.pushes_at_most = static_cast<int>(pushes)), true)) &&
         (!e.at_s || (!e.to_s && e.from_s == 0) ||
          fail(v, "give either at_s or a from_s/to_s window, not both"));
}

bool ScenarioGrammar::mustBreakNamesAnExpectation(const Val& v, const ScenarioSpec& sc) {
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

}  // namespace

const std::vector<std::string>& knownInvariants() {
  static const std::vector<std::string> kInvariants = {
      "no_target_below_floor", "no_target_above_ceiling", "host_free_never_below_reserve",
      "free_before_allocate", "no_oom"};
  return kInvariants;
}

Result<ScenarioSpec> parseScenario(const std::string& text, const std::string& source) {
  ScenarioSpec sc;
  sc.source = source;
  sc.config.source = source;
  auto status = readDocument(text, source, [&](const Val& root) -> Status {
    ScenarioGrammar grammar(source);
    if (!grammar.scenario(root, sc)) return grammar.error();
    return Ok{};
  });
  if (!status) return status.error();
  sc.config.tick_s = sc.tick_s;
  return sc;
}

Result<ScenarioSpec> loadScenarioFile(const std::string& path) {
  auto text = readFile(path);
  if (!text) {
    return text.error();
  }
  return parseScenario(*text, path);
}

}  // namespace balloond::config
