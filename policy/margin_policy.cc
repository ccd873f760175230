// SPDX-License-Identifier: Apache-2.0
#include "policy/margin_policy.h"

#include <algorithm>

#include "policy/registry.h"
#include "policy/saturating.h"

namespace balloond::policy {

std::vector<Decision> MarginPolicy::decide(const PolicyInput& input, PolicyState& /*state*/) {
  std::vector<Decision> out;
  out.reserve(input.vms.size());
  for (const auto& vm : input.vms) {
    const VmSample& s = *vm.sample;
    if (!s.guest.available_kib) {
      out.push_back({s.name, vm.target_kib, "no-stats"});
      continue;
    }
    const auto max = static_cast<double>(s.max_kib);
    const auto wanted = static_cast<int64_t>(margin_ * max);
    const auto band = static_cast<int64_t>(hysteresis_ * max);
    const int64_t available = std::clamp<int64_t>(*s.guest.available_kib, 0, s.actual_kib);
    if (available > satAdd(wanted, band)) {
      out.push_back({s.name, satSub(s.actual_kib, available - wanted), "available-above-margin"});
    } else if (available < satSub(wanted, band)) {
      out.push_back({s.name, satAdd(s.actual_kib, wanted - available), "available-below-margin"});
    } else {
      out.push_back({s.name, vm.target_kib, "available-within-margin"});
    }
  }
  return out;
}

BALLOOND_REGISTER_POLICY(
    margin,
    (PolicyEntry{
        .name = "margin",
        .summary = "keep each guest's available memory near a margin of its size",
        .params = {{"margin", 0.2, 0.01, 0.9, "wanted available memory, as a fraction of max"},
                   {"hysteresis", 0.05, 0.0, 0.5,
                    "half-width of the dead band around the margin, as a fraction of max"}},
        .make = [](const ParamValues& p) -> std::unique_ptr<Policy> {
          return std::make_unique<MarginPolicy>(p.at("margin"), p.at("hysteresis"));
        },
    }));

}  // namespace balloond::policy
