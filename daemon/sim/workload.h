// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "config/spec.h"

namespace balloond::sim {

// The anonymous working set (MiB) a simulated workload demands `t_since_start_s` seconds after it
// started. Phases run one after another; a duration of 0 lasts forever; after the last phase its
// final level holds, unless `repeat` starts the list over. No phases: 0.
double workingSetMib(const config::WorkloadSpec& workload, double t_since_start_s);

}  // namespace balloond::sim
