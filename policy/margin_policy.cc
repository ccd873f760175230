// SPDX-License-Identifier: Apache-2.0
#include "policy/margin_policy.h"

#include <algorithm>
#include <cmath>

#include "policy/memory.h"
#include "policy/registry.h"
#include "policy/saturating.h"
#include "policy/signals.h"

namespace balloond::policy {

namespace {

// How fast the first-sight assumption (the guest may need all it has) gives way to what the guest
// shows: a few reports are enough to see most workloads' swings, and an idle guest still reaches
// its floor within about 20 s.
constexpr double kFirstSightFadeS = 10;

// `from` fading toward `to` over dt with time constant tau (0: at once); never below `to`.
double fadeToward(double from, double to, double dt, double tau) {
  if (from <= to) {
    return to;  // nothing above the use to fade (the usual case: no exp)
  }
  return to + (from - to) * (tau > 0 ? std::exp(-dt / tau) : 0);
}

}  // namespace

void MarginPolicy::observe(Use& u, double actual_kib, double used_kib, double update_s) const {
  if (u.seen_s <= 0 || update_s < u.seen_s) {  // the first report, or the guest restarted
    u = Use{.peak_kib = used_kib,
            .first_sight_kib = p_.peak_window_s > 0 ? actual_kib : used_kib,
            .used_kib = used_kib,
            .seen_s = update_s};
    return;
  }
  const double dt = update_s - u.seen_s;
  if (dt <= 0) {
    return;  // the same report again
  }
  u.rise_kib_s = std::max(0.0, (used_kib - u.used_kib) / dt);
  u.interval_s = dt;
  u.peak_kib = fadeToward(u.peak_kib, used_kib, dt, p_.peak_window_s);
  u.first_sight_kib =
      fadeToward(u.first_sight_kib, used_kib, dt, std::min(p_.peak_window_s, kFirstSightFadeS));
  u.used_kib = used_kib;
  u.seen_s = update_s;
}

std::vector<Decision> MarginPolicy::decide(const PolicyInput& input, PolicyState& /*state*/) {
  std::vector<Decision> out;
  out.reserve(input.vms.size());
  std::size_t kept = 0;  // VMs with an entry this tick
  // Room kept for peaks that may come back is for a host that can spare it: under its reserve
  // the peaks yield (the margin rule alone). Waiting to see a guest it has just met is for a
  // host with more than twice its reserve: a tighter one needs the idle guests' memory now.
  const bool host_short = input.host.available_kib < input.host_reserve_kib;
  const bool host_tight = input.host.available_kib < satMul(2, input.host_reserve_kib);
  for (std::size_t i = 0; i < input.vms.size(); ++i) {
    const VmView& vm = input.vms[i];
    const VmSample& s = *vm.sample;
    const auto available = availableKib(s);
    if (!available) {
      out.push_back({s.name, vm.target_kib, "no-stats"});
      continue;
    }
    Use& u = use_.of(i, s.name);
    ++kept;
    const auto used = static_cast<double>(s.actual_kib - *available);
    observe(u, static_cast<double>(s.actual_kib), used,
            s.guest.last_update_s > 0 ? s.guest.last_update_s : input.now_s);
    const auto max = static_cast<double>(s.max_kib);
    const double wanted = p_.margin * max;
    const double band = p_.hysteresis * max;
    const auto actual = static_cast<double>(s.actual_kib);
    const double peak = host_short ? used : std::max(u.peak_kib, used);
    // The first-sight assumption only holds a shrink back: it never asks for more memory.
    const double keep = host_tight ? peak : std::max(peak, u.first_sight_kib);
    if (actual - keep > wanted + band) {
      out.push_back({s.name, satRound(keep + wanted), "available-above-margin"});
    } else if (actual - peak < wanted - band) {
      // Two report intervals of the current rise: the report that shows it is up to one late,
      // and the push acts a tick after that.
      const double rising = used + wanted + u.rise_kib_s * 2 * u.interval_s;
      const double target = std::max(peak + wanted, rising);
      const char* reason = "recent-peak";
      if (rising > peak + wanted) {
        reason = "rising";
      } else if (static_cast<double>(*available) < wanted - band) {
        reason = "available-below-margin";
      }
      out.push_back({s.name, satRound(target), reason});
    } else {
      out.push_back({s.name, vm.target_kib,
                     actual - peak > wanted + band ? "first-sight" : "available-within-margin"});
    }
  }
  use_.forgetGone(input, kept);
  return out;
}

nlohmann::json MarginPolicy::saveMemory() const {
  nlohmann::json vms = nlohmann::json::object();
  for (const auto& [name, u] : use_.all()) {
    vms[name] = {{"peak_used_kib", u.peak_kib},
                 {"first_sight_kib", u.first_sight_kib},
                 {"used_kib", u.used_kib},
                 {"seen_s", u.seen_s}};
  }
  return {{"vms", std::move(vms)}};
}

Status MarginPolicy::loadMemory(const nlohmann::json& memory) {
  std::unordered_map<std::string, Use> loaded;
  MemoryReader r(memory, "memory");
  r.each("vms", [&](const std::string& name, MemoryReader& vm) {
    Use& u = loaded[name];
    vm.number("peak_used_kib", u.peak_kib, 0, static_cast<double>(kMaxMemoryKib));
    vm.number("first_sight_kib", u.first_sight_kib, 0, static_cast<double>(kMaxMemoryKib));
    vm.number("used_kib", u.used_kib, 0, static_cast<double>(kMaxMemoryKib));
    vm.number("seen_s", u.seen_s, 0, 1e12);
  });
  auto status = r.status();
  use_.replace(status ? std::move(loaded) : std::unordered_map<std::string, Use>{});
  return status;
}

BALLOOND_REGISTER_POLICY(
    margin,
    (PolicyEntry{
        .name = "margin",
        .summary = "keep each guest's available memory near a margin of its size, above its "
                   "recent peak of use",
        .params = {{"margin", 0.2, 0.01, 0.9, "wanted available memory, as a fraction of max"},
                   {"hysteresis", 0.05, 0.0, 0.5,
                    "half-width of the dead band around the margin, as a fraction of max"},
                   {"peak_window_s", 300, 0, 86400,
                    "time constant (s) over which a past peak of the guest's use fades; 0: none"}},
        .make = [](const ParamValues& p) -> std::unique_ptr<Policy> {
          return std::make_unique<MarginPolicy>(MarginPolicy::Params{
              .margin = p.at("margin"),
              .hysteresis = p.at("hysteresis"),
              .peak_window_s = p.at("peak_window_s"),
          });
        },
    }));

}  // namespace balloond::policy
