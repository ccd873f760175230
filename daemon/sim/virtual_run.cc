// SPDX-License-Identifier: Apache-2.0
#include "daemon/sim/virtual_run.h"

namespace balloond {

void runOnVirtualClock(sim::SimHost& host, Controller& controller, double tick_s, double duration_s,
                       const std::function<void(const TickReport&)>& each_tick) {
  const double end = host.now() + duration_s;
  while (host.now() + tick_s <= end + 1e-9) {
    host.advance(tick_s);
    const TickReport report = controller.tick();
    if (each_tick) {
      each_tick(report);
    }
  }
}

}  // namespace balloond
