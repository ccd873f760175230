// SPDX-License-Identifier: Apache-2.0
#include "daemon/sim/workload.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace balloond::sim {

namespace {

using Kind = config::PhaseSpec::Kind;

// The level of one phase `u` seconds after the phase began.
double phaseLevel(const config::PhaseSpec& p, double u) {
  switch (p.kind) {
    case Kind::kConstant: return p.mib;
    case Kind::kRamp:  // a ramp that lasts forever has no slope: it steps to `to_mib`
      if (p.duration_s <= 0) {
        return p.to_mib;
      }
      return p.from_mib + (p.to_mib - p.from_mib) * std::clamp(u / p.duration_s, 0.0, 1.0);
    case Kind::kSpike: return u >= p.at_s && u < p.at_s + p.length_s ? p.peak_mib : p.mib;
    case Kind::kPeriodic:  // starts at low, peaks at half a period, back to low after one
      if (p.period_s <= 0) {
        return p.low_mib;
      }
      return p.low_mib +
             (p.high_mib - p.low_mib) * (1 - std::cos(2 * std::numbers::pi * u / p.period_s)) / 2;
  }
  return 0;
}

// The length of one pass through the phases; 0 if some phase lasts forever.
double cycleLength(const config::WorkloadSpec& w) {
  double total = 0;
  for (const auto& p : w.phases) {
    if (p.duration_s <= 0) {
      return 0;
    }
    total += p.duration_s;
  }
  return total;
}

}  // namespace

double workingSetMib(const config::WorkloadSpec& workload, double t_since_start_s) {
  if (workload.phases.empty()) {
    return 0;
  }
  double t = std::max(t_since_start_s, 0.0);
  const double cycle = cycleLength(workload);
  if (workload.repeat && cycle > 0) {
    t = std::fmod(t, cycle);
  }
  for (const auto& p : workload.phases) {
    if (p.duration_s <= 0 || t < p.duration_s) {
      return std::max(phaseLevel(p, t), 0.0);
    }
    t -= p.duration_s;
  }
  const auto& last = workload.phases.back();
  return std::max(phaseLevel(last, last.duration_s), 0.0);
}

}  // namespace balloond::sim
