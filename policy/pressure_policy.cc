// SPDX-License-Identifier: Apache-2.0
#include "policy/pressure_policy.h"

#include <algorithm>
#include <cmath>

#include "policy/memory.h"
#include "policy/registry.h"
#include "policy/signals.h"

namespace balloond::policy {

std::vector<Decision> PressurePolicy::decide(const PolicyInput& input, PolicyState& state) {
  std::vector<Decision> out;
  out.reserve(input.vms.size());
  for (std::size_t i = 0; i < input.vms.size(); ++i) {
    const VmView& vm = input.vms[i];
    const VmSample& s = *vm.sample;
    VmPolicyState& h = historyOf(vm, state);
    double& refault_avg = refault_avg_kib_s_.of(i, s.name);
    const double dt = observeCounters(h, s);
    if (dt > 0) {
      refault_avg += (1 - std::exp(-dt / p_.window_s)) * (refaultKibPerS(h) - refault_avg);
    }
    const auto available = availableKib(s);
    if (!available) {
      out.push_back({s.name, vm.target_kib, "no-stats"});
      continue;
    }
    if (!vm.stats_fresh) {
      out.push_back({s.name, vm.target_kib, "stale-stats"});
      continue;
    }
    const auto actual = static_cast<double>(s.actual_kib);
    const double cushion = p_.min_available * static_cast<double>(s.max_kib);
    const double pressure = refaultKibPerS(h);
    const auto avail = static_cast<double>(*available);
    if (avail < cushion) {
      const double refill = std::max(cushion, p_.refill_available * static_cast<double>(s.max_kib));
      out.push_back({s.name, std::llround(actual + refill - avail), "available-low"});
    } else if (pressure > p_.target_kib_s) {
      const double over = p_.target_kib_s > 0 ? pressure / p_.target_kib_s - 1 : 1e9;
      const double grow = actual * std::min(p_.backoff_gain * over, p_.max_backoff);
      out.push_back({s.name, std::llround(actual + grow), "backoff"});
    } else if (refault_avg >= p_.target_kib_s && p_.target_kib_s > 0) {
      out.push_back({s.name, vm.target_kib, "settling"});
    } else {
      const double calm = std::max(pressure, refault_avg);
      const double under = p_.target_kib_s > 0 ? 1 - calm / p_.target_kib_s : 0;
      const double probe = std::min(actual * p_.probe_gain * under, avail - cushion);
      out.push_back({s.name, std::llround(actual - probe), probe > 0 ? "probe" : "at-target"});
    }
  }
  refault_avg_kib_s_.forgetGone(input, input.vms.size());  // each VM has its average now
  return out;
}

nlohmann::json PressurePolicy::saveMemory() const {
  nlohmann::json vms = nlohmann::json::object();
  for (const auto& [name, rate] : refault_avg_kib_s_.all()) {
    vms[name] = {{"refault_avg_kib_s", rate}};
  }
  return {{"vms", std::move(vms)}};
}

Status PressurePolicy::loadMemory(const nlohmann::json& memory) {
  std::unordered_map<std::string, double> loaded;
  MemoryReader r(memory, "memory");
  r.each("vms", [&](const std::string& name, MemoryReader& vm) {
    vm.number("refault_avg_kib_s", loaded[name], 0, 1e15);  // KiB/s: far above any real rate
  });
  auto status = r.status();
  refault_avg_kib_s_.replace(status ? std::move(loaded)
                                    : std::unordered_map<std::string, double>{});
  return status;
}

BALLOOND_REGISTER_POLICY(
    pressure,
    (PolicyEntry{
        .name = "pressure",
        .summary = "probe each guest down until it refaults, back off fast (Senpai/TMO-like)",
        .params =
            {
                {"target_kib_s", 256, 0, 1e9,
                 "refault rate (major faults x 4 KiB + swap-in, KiB/s) the probe steers under"},
                {"probe_gain", 0.02, 0, 0.5,
                 "fraction of actual probed away per tick at zero pressure"},
                {"backoff_gain", 0.05, 0, 10,
                 "fraction of actual given back per tick per unit of pressure over target"},
                {"max_backoff", 0.5, 0, 4, "most given back per tick, as a fraction of actual"},
                {"min_available", 0.05, 0, 0.9,
                 "available memory a probe always leaves, as a fraction of max"},
                {"refill_available", 0.10, 0, 0.9,
                 "under min_available, grow until this much is available (fraction of max)"},
                {"window_s", 10, 0.1, 3600,
                 "time constant (s) of the average refault rate that gates probing"},
            },
        .make = [](const ParamValues& p) -> std::unique_ptr<Policy> {
          return std::make_unique<PressurePolicy>(PressurePolicy::Params{
              .target_kib_s = p.at("target_kib_s"),
              .probe_gain = p.at("probe_gain"),
              .backoff_gain = p.at("backoff_gain"),
              .max_backoff = p.at("max_backoff"),
              .min_available = p.at("min_available"),
              .refill_available = p.at("refill_available"),
              .window_s = p.at("window_s"),
          });
        },
    }));

}  // namespace balloond::policy
