// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <functional>

#include "daemon/controller.h"
#include "daemon/sim/host.h"

namespace balloond {

// Plays a controller against a simulated host on the virtual clock: each step advances the
// simulation by one tick, then runs one tick. Deterministic and much faster than real time.
// `each_tick` (optional) sees every report right after its tick.
void runOnVirtualClock(sim::SimHost& host, Controller& controller, double tick_s, double duration_s,
                       const std::function<void(const TickReport&)>& each_tick = {});

}  // namespace balloond
