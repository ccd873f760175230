// SPDX-License-Identifier: Apache-2.0
#include "policy/host_target_policy.h"

#include <algorithm>
#include <cmath>

#include "policy/registry.h"
#include "policy/signals.h"

namespace balloond::policy {

std::vector<Decision> HostTargetPolicy::decide(const PolicyInput& input, PolicyState& state) {
  const auto step = static_cast<double>(mibToKib(p_.step_mib));
  const auto total = static_cast<double>(input.host.total_kib);
  const double used = total - static_cast<double>(input.host.available_kib);
  double room = p_.set_point * total - used;  // > 0: memory to hand out; < 0: to take back

  struct Vm {
    const VmView* view;
    double target;
    bool pressured;
  };
  std::vector<Vm> vms;
  vms.reserve(input.vms.size());
  for (const auto& v : input.vms) {
    if (v.limits.excluded || v.ack == AckState::kExcluded || v.ack == AckState::kNoDriver) {
      continue;
    }
    VmPolicyState& h = historyOf(v, state);
    observeCounters(h, *v.sample);
    const auto actual = static_cast<double>(v.sample->actual_kib);
    const auto available = availableKib(*v.sample);
    const bool pressured = v.stats_fresh && available &&
                           (static_cast<double>(*available) < p_.low_available * actual ||
                            refaultKibPerS(h) > p_.pressure_kib_s);
    vms.push_back({&v, actual, pressured});
  }
  const auto ceiling = [](const Vm& v) { return static_cast<double>(v.view->limits.ceiling_kib); };

  // Pressured VMs grow first, a step each, whatever the host: the guards' reserve limits it.
  for (auto& v : vms) {
    if (v.pressured) {
      const double grow = std::clamp(ceiling(v) - v.target, 0.0, step);
      v.target += grow;
      room -= grow;
    }
  }
  const double band = p_.band * total;
  if (room > band) {  // hand the room out by shares
    double weight = 0;
    for (const auto& v : vms) {
      weight += v.pressured || v.target >= ceiling(v) ? 0 : v.view->limits.shares;
    }
    for (auto& v : vms) {
      if (weight > 0 && !v.pressured && v.target < ceiling(v)) {
        v.target += std::min({room * v.view->limits.shares / weight, step, ceiling(v) - v.target});
      }
    }
  } else if (room < -band) {  // take the excess back: more from VMs with more room per share
    auto spare = [](const Vm& v) {
      return std::max(0.0, v.target - static_cast<double>(v.view->limits.floor_kib));
    };
    double weight = 0;
    for (const auto& v : vms) {
      const bool can = !v.pressured && v.view->stats_fresh && canShrink(v.view->ack);
      weight += can ? spare(v) / v.view->limits.shares : 0;
    }
    for (auto& v : vms) {
      if (weight > 0 && !v.pressured && v.view->stats_fresh && canShrink(v.view->ack)) {
        const double share = spare(v) / v.view->limits.shares / weight;
        v.target -= std::min({-room * share, step, spare(v)});
      }
    }
  }

  std::vector<Decision> out;
  out.reserve(vms.size());
  for (const auto& v : vms) {
    const int64_t actual = v.view->sample->actual_kib;
    const auto target = std::llround(v.target);
    const char* reason = v.pressured               ? "pressured-first"
                         : target < actual         ? "host-above-set-point"
                         : target > actual         ? "host-below-set-point"
                         : !canShrink(v.view->ack) ? "not-following"
                                                   : "host-at-set-point";
    out.push_back({v.view->sample->name, target == actual ? v.view->target_kib : target, reason});
  }
  return out;
}

BALLOOND_REGISTER_POLICY(
    host_target,
    (PolicyEntry{
        .name = "host-target",
        .summary = "keep host used memory near a set point, by shares (Proxmox-style)",
        .params =
            {
                {"set_point", 0.80, 0.05, 0.99, "wanted host used memory, fraction of total"},
                {"band", 0.02, 0, 0.5, "no action while host used is within set_point +- band"},
                {"step_mib", 128, 1, 65536, "most a VM moves per tick, MiB"},
                {"low_available", 0.05, 0, 0.9,
                 "guest available under this fraction of its size: under pressure"},
                {"pressure_kib_s", 256, 0, 1e9,
                 "guest refault rate (KiB/s) above which it is under pressure"},
            },
        .make = [](const ParamValues& p) -> std::unique_ptr<Policy> {
          return std::make_unique<HostTargetPolicy>(HostTargetPolicy::Params{
              .set_point = p.at("set_point"),
              .band = p.at("band"),
              .step_mib = p.at("step_mib"),
              .low_available = p.at("low_available"),
              .pressure_kib_s = p.at("pressure_kib_s"),
          });
        },
    }));

}  // namespace balloond::policy
