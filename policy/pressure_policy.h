// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <unordered_map>

#include "policy/per_vm_memory.h"
#include "policy/policy.h"

namespace balloond::policy {

// Feedback on each guest's own pressure, in the manner of Meta's Senpai (TMO, ASPLOS 2022):
// probe every guest down slowly while its pressure stays under a small target, and back off
// fast, in proportion to how far the pressure is above it. A balloon gives no guest PSI, so the
// pressure is the refault rate the guest reports: major faults (4 KiB each) plus swap-in, KiB/s.
//
//   pressure > target:  grow by actual * min(backoff_gain * (pressure / target - 1),
//                                            max_backoff)                          "backoff"
//   average < target:   shrink by actual * probe_gain * (1 - average / target)      "probe"
//   otherwise:          hold                                                      "settling"
//   available < min_available * max: grow at once until available is refill_available * max
//                                                                            "available-low"
//
// `average` is the refault rate averaged over `window_s` (as PSI's avg10 is over 10 s): backing
// off reacts to the last report at once, while probing resumes only once the average has calmed
// down, so a guest with periodic bursts is not probed down between them.
// A probe never takes available memory under `min_available * max`, so a guest without swap
// (which dies without ever faulting) keeps a cushion. No probing on stale stats or without stats.
class PressurePolicy : public Policy {
 public:
  struct Params {
    double target_kib_s = 256;       // refault rate the probe steers under (64 pages/s)
    double probe_gain = 0.02;        // fraction of actual probed away per tick at zero pressure
    double backoff_gain = 0.05;      // fraction of actual given back per tick per unit over target
    double max_backoff = 0.5;        // most given back per tick, fraction of actual
    double min_available = 0.05;     // available memory a probe leaves, fraction of max
    double refill_available = 0.10;  // available memory restored when under min_available
    double window_s = 10;            // time constant (s) of the average refault rate
  };
  explicit PressurePolicy(Params p) : p_(p) {}

  std::vector<Decision> decide(const PolicyInput& input, PolicyState& state) override;
  // {"vms": {name: {"refault_avg_kib_s": rate}}}
  nlohmann::json saveMemory() const override;
  Status loadMemory(const nlohmann::json& memory) override;

 private:
  Params p_;
  // Each VM's refault rate (KiB/s) averaged over window_s, like PSI's avg10; by VM name.
  PerVmMemory<double> refault_avg_kib_s_;
};

}  // namespace balloond::policy
