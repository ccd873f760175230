// SPDX-License-Identifier: Apache-2.0
#include "daemon/sim/scenario_runner.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "daemon/compile.h"
#include "daemon/controller.h"
#include "daemon/sim/channel.h"
#include "daemon/sim/host.h"
#include "daemon/sim/scenario_checks.h"

namespace balloond {

namespace {

using config::ScenarioEvent;
using config::VmExpectation;

double mib(int64_t kib) {
  return kibToMib(kib);
}

// One VM at one tick, for checks and the timeline.
struct Row {
  double t = 0;
  VmStatus status;
};

// A broken expectation: which, when, what, and the VMs whose timeline explains it.
struct Break {
  std::string name;
  double t = 0;
  std::string detail;
  std::set<std::string> vms;
};

// The state of one scenario run: the rig, the timeline, and the first break.
class Run {
 public:
  explicit Run(const config::ScenarioSpec& spec)
      : spec_(spec), host_(hostSpec(spec)), channel_(host_), controller_(make(spec)) {}

  std::optional<Break> play();
  std::string timeline(const Break& b) const;

 private:
  static config::SimHostSpec hostSpec(const config::ScenarioSpec& spec);
  Controller make(const config::ScenarioSpec& spec) {
    // The grammar has checked the policy, so compiling cannot fail here.
    auto compiled = compile(spec.config);
    return {channel_, std::move(compiled->policy), std::move(compiled->settings)};
  }
  void applyEvents(double from_s, double to_s);
  void checkInvariants(double t);
  void checkVm(size_t index, const VmExpectation& e, bool at_end);
  void checkOutcome(double t, bool at_end);
  void breakAt(std::string name, double t, std::string detail, std::set<std::string> vms) {
    if (!broken_) {
      broken_ = Break{std::move(name), t, std::move(detail), std::move(vms)};
    }
  }
  const Row* rowAt(const std::string& vm, double t) const;

  const config::ScenarioSpec& spec_;
  sim::SimHost host_;
  SimChannel channel_;
  Controller controller_;
  std::vector<std::vector<Row>> ticks_;
  std::optional<double> reclaim_at_s_;
  std::map<std::string, std::vector<double>> push_times_;  // every push attempt, by VM
  std::optional<Break> broken_;
  bool outcome_judged_ = false;
};

config::SimHostSpec Run::hostSpec(const config::ScenarioSpec& spec) {
  config::SimHostSpec host = spec.config.channel.sim;
  for (const auto& e : spec.events) {
    for (auto& vm : host.vms) {
      if (vm.name == e.vm && e.kind == ScenarioEvent::Kind::kStart) {
        vm.start_s = e.at_s;
      } else if (vm.name == e.vm && e.kind == ScenarioEvent::Kind::kStop) {
        vm.stop_s = e.at_s;
      }
    }
  }
  return host;
}

void Run::applyEvents(double from_s, double to_s) {
  for (const auto& e : spec_.events) {
    if (e.at_s < from_s || e.at_s >= to_s) {
      continue;
    }
    if (e.kind == ScenarioEvent::Kind::kWorkload) {
      host_.setWorkload(e.vm, e.workload);
    } else if (e.kind == ScenarioEvent::Kind::kReclaim) {
      reclaim_at_s_ = e.at_s;
      auto status = controller_.startReclaim(mibToKib(e.reclaim_mib));
      if (!status) {
        breakAt("outcome", e.at_s, "the reclaim could not start: " + status.error().message, {});
      }
    }
  }
}

const Row* Run::rowAt(const std::string& vm, double t) const {
  for (const auto& tick : ticks_) {
    for (const auto& row : tick) {
      if (row.status.name == vm && std::abs(row.t - t) < spec_.tick_s / 2) {
        return &row;
      }
    }
  }
  return nullptr;
}

void Run::checkInvariants(double t) {
  InvariantInput in{controller_.lastSnapshot(),
                    controller_.status(),
                    mibToKib(spec_.config.guards.host_reserve_mib),
                    {}};
  for (const auto& name : host_.names()) {
    if (host_.guest(name)->counters.oom_kills > 0) {
      in.oom_killed.insert(name);
    }
  }
  for (const auto& name : spec_.invariants) {
    if (auto v = checkInvariant(name, in)) {
      breakAt(name, t, v->detail, v->vms);
    }
  }
}

void Run::checkVm(size_t index, const VmExpectation& e, bool at_end) {
  const std::string name = fmt::format("vms[{}]", index);
  const double t = ticks_.empty() ? 0 : ticks_.back().front().t;
  const double to = e.to_s.value_or(spec_.max_s);
  if (e.at_s) {
    if (std::abs(t - *e.at_s) >= spec_.tick_s / 2 && !(at_end && t < *e.at_s)) {
      return;
    }
    if (at_end && t < *e.at_s) {
      breakAt(name, t, fmt::format("the run ended before t={:.0f}s", *e.at_s), {e.vm});
      return;
    }
  } else if (!at_end && (t < e.from_s || t > to)) {
    return;
  }
  const std::string when = e.at_s ? fmt::format("at t={:.0f}s", *e.at_s)
                                  : fmt::format("between t={:.0f}s and t={:.0f}s", e.from_s, to);
  if (at_end) {  // window checks that can only be judged once the window is over
    if (e.at_s) {
      return;
    }
    bool seen = false;
    for (const auto& tick : ticks_) {
      for (const auto& row : tick) {
        if (row.status.name == e.vm && row.t >= e.from_s && row.t <= to) {
          seen = seen || (e.ever && std::string(policy::toString(row.status.state)) == *e.ever);
        }
      }
    }
    const auto& times = push_times_[e.vm];
    const auto pushes = std::count_if(times.begin(), times.end(),
                                      [&](double at) { return at >= e.from_s && at <= to; });
    if (e.ever && !seen) {
      breakAt(name, t, fmt::format("{} was never {} {}", e.vm, *e.ever, when), {e.vm});
    }
    if (e.pushes_at_most && pushes > *e.pushes_at_most) {
      breakAt(name, t,
              fmt::format("{} got {} target pushes {}; at most {} expected", e.vm, pushes, when,
                          *e.pushes_at_most),
              {e.vm});
    }
    return;
  }
  const Row* row = rowAt(e.vm, t);
  if (row == nullptr) {
    if (e.at_s || e.state || e.reason_contains) {
      breakAt(name, t, fmt::format("{} is not running at t={:.0f}s", e.vm, t), {e.vm});
    }
    return;
  }
  const VmStatus& s = row->status;
  const std::string state(policy::toString(s.state));
  if (e.state && state != *e.state) {
    breakAt(name, t, fmt::format("{} is {} at t={:.0f}s; expected {}", e.vm, state, t, *e.state),
            {e.vm});
  }
  if (e.never && state == *e.never) {
    breakAt(name, t, fmt::format("{} became {} at t={:.0f}s ({})", e.vm, state, t, s.state_reason),
            {e.vm});
  }
  if (e.reason_contains && s.reason.find(*e.reason_contains) == std::string::npos &&
      s.state_reason.find(*e.reason_contains) == std::string::npos) {
    breakAt(name, t,
            fmt::format("{} reason at t={:.0f}s is '{}' [{}]; expected it to say '{}'", e.vm, t,
                        s.reason, s.state_reason, *e.reason_contains),
            {e.vm});
  }
  auto bound = [&](const char* what, int64_t kib, const std::optional<double>& lo,
                   const std::optional<double>& hi) {
    if ((lo && mib(kib) < *lo - 1e-6) || (hi && mib(kib) > *hi + 1e-6)) {
      breakAt(name, t,
              fmt::format("{} {} is {:.1f} MiB at t={:.0f}s; expected {}{}", e.vm, what, mib(kib),
                          t, lo ? fmt::format("at least {:.0f} ", *lo) : "",
                          hi ? fmt::format("at most {:.0f}", *hi) : ""),
              {e.vm});
    }
  };
  bound("target", s.target_kib, e.target_min_mib, e.target_max_mib);
  bound("actual", s.actual_kib, e.actual_min_mib, e.actual_max_mib);
}

void Run::checkOutcome(double t, bool at_end) {
  if (!spec_.outcome) {
    return;
  }
  const auto& want = *spec_.outcome;
  const auto status = controller_.reclaimStatus();
  if (!status || status->outcome == ReclaimStatus::Outcome::kInProgress) {
    const bool late = reclaim_at_s_ && want.within_s > 0 && t - *reclaim_at_s_ > want.within_s;
    if (at_end || late) {
      breakAt(
          "outcome", t,
          fmt::format("no reclaim outcome{}; expected {}",
                      reclaim_at_s_ ? fmt::format(" {:.0f} s after the request", t - *reclaim_at_s_)
                                    : " (no reclaim was requested)",
                      want.outcome),
          {});
    }
    return;
  }
  if (outcome_judged_) {
    return;  // judged once, when it ends
  }
  outcome_judged_ = true;
  std::set<std::string> plan;
  for (const auto& [vm, kib] : status->plan_kib) {
    plan.insert(vm);
  }
  const std::string got(toString(status->outcome));
  if (got != want.outcome) {
    breakAt("outcome", t,
            fmt::format("reclaim ended {} ({}); expected {}", got, status->text, want.outcome),
            plan);
  } else if (want.within_s > 0 && status->finished_s - status->started_s > want.within_s) {
    breakAt("outcome", t,
            fmt::format("reclaim took {:.0f} s; expected at most {:.0f} s",
                        status->finished_s - status->started_s, want.within_s),
            plan);
  } else if (want.refused) {
    auto a = *want.refused;
    auto b = status->refused_by;
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    if (a != b) {
      std::string names;
      for (const auto& vm : b) {
        names += (names.empty() ? "" : ", ") + vm;
      }
      breakAt("outcome", t, fmt::format("reclaim named [{}] as refusing", names), plan);
    }
  }
}

std::optional<Break> Run::play() {
  double t = 0;
  host_.advance(0);
  for (int i = 0; t <= spec_.max_s + 1e-9 && !broken_; ++i) {
    TickReport report = controller_.tick();
    for (const auto& c : report.changes) {
      push_times_[c.vm].push_back(t);
    }
    for (const auto& vm : report.failed_pushes) {
      push_times_[vm].push_back(t);
    }
    std::vector<Row> rows;
    for (const auto& s : controller_.status()) {
      rows.push_back(Row{t, s});
    }
    if (rows.empty()) {
      rows.push_back(Row{t, VmStatus{}});
    }
    ticks_.push_back(std::move(rows));
    checkInvariants(t);
    for (size_t k = 0; k < spec_.vm_expectations.size(); ++k) {
      checkVm(k, spec_.vm_expectations[k], false);
    }
    checkOutcome(t, false);
    applyEvents(t, t + spec_.tick_s);  // events due before the next tick
    host_.advance(spec_.tick_s);
    t = static_cast<double>(i + 1) * spec_.tick_s;
  }
  if (!broken_) {
    for (size_t k = 0; k < spec_.vm_expectations.size(); ++k) {
      checkVm(k, spec_.vm_expectations[k], true);
    }
    checkOutcome(ticks_.back().front().t, true);
  }
  return broken_;
}

std::string Run::timeline(const Break& b) const {
  std::string out = "timeline (t, vm, target, actual, available, state, reason):\n";
  const size_t first = ticks_.size() > 12 ? ticks_.size() - 12 : 0;
  for (size_t i = first; i < ticks_.size(); ++i) {
    for (const auto& row : ticks_[i]) {
      const VmStatus& s = row.status;
      if (!b.vms.empty() && !b.vms.contains(s.name)) {
        continue;
      }
      out += fmt::format("  t={:<5.0f} {:<10} {:>6.0f} {:>6.0f} {:>6} {:<13} {}{}\n", row.t, s.name,
                         mib(s.target_kib), mib(s.actual_kib),
                         s.available_kib ? fmt::format("{:.0f}", mib(*s.available_kib)) : "-",
                         policy::toString(s.state), s.reason,
                         s.state_reason.empty() ? "" : " [" + s.state_reason + "]");
    }
  }
  return out;
}

}  // namespace

ScenarioResult runScenario(const config::ScenarioSpec& spec) {
  Run run(spec);
  const std::optional<Break> broken = run.play();
  ScenarioResult result;
  result.broken = broken ? broken->name : "";
  const std::string what =
      broken ? fmt::format("expectation {} broke at t={:.0f}s: {}\n{}", broken->name, broken->t,
                           broken->detail, run.timeline(*broken))
             : "";
  if (spec.must_break) {
    result.passed = broken && broken->name == *spec.must_break;
    result.report =
        result.passed
            ? fmt::format("PASS {} (negative): {} broke as it must\n{}", spec.name,
                          *spec.must_break, what)
            : fmt::format(
                  "FAIL {} (negative): {} must break, but {}\n{}", spec.name, *spec.must_break,
                  broken ? "another expectation broke first" : "every expectation held", what);
  } else {
    result.passed = !broken;
    result.report = result.passed ? fmt::format("PASS {}\n", spec.name)
                                  : fmt::format("FAIL {}: {}", spec.name, what);
  }
  return result;
}

}  // namespace balloond
