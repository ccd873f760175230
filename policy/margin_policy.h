// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <unordered_map>

#include "policy/per_vm_memory.h"
#include "policy/policy.h"

namespace balloond::policy {

// The default policy: keep each guest's available memory near a margin of its size, measured
// against the most the guest used lately, so that a guest whose use comes in bursts keeps room
// for the next burst.
//
//   peak = the guest's use (actual - available), or more: a higher use seen earlier fades
//          toward the current one with time constant peak_window_s (0: no memory, peak = use);
//          and a guest seen for the first time may need all it has: that assumption fades
//          toward its use over 10 s (at most peak_window_s), so nothing is squeezed blind
//          ("first-sight": it holds a shrink back, never asks for more). The peak yields while
//          the host is under its reserve, the first-sight hold while it is under twice that
//   room = actual - peak                          (available, were the peak to come back)
//   room > margin + band:  shrink to peak + margin                      "available-above-margin"
//   room < margin - band:  grow to peak + margin, and at least to use + margin plus what the use
//                          grew per second since the last report times two report intervals
//                          (the report that shows a rise is late, and the push acts a tick
//                          after it)     "available-below-margin" / "recent-peak" / "rising"
//   otherwise:             hold                                       "available-within-margin"
// margin and band are fractions of the VM's max. The guards make shrinking slow and growing fast,
// and keep floors and ceilings.
class MarginPolicy : public Policy {
 public:
  struct Params {
    double margin = 0.2;         // wanted available memory, fraction of max
    double hysteresis = 0.05;    // half-width of the dead band around it, fraction of max
    double peak_window_s = 300;  // time constant (s) over which a past peak of use fades
  };
  explicit MarginPolicy(Params p) : p_(p) {}

  std::vector<Decision> decide(const PolicyInput& input, PolicyState& state) override;
  // {"vms": {name: {"peak_used_kib": N, "first_sight_kib": N, "used_kib": N, "seen_s": T}}}
  nlohmann::json saveMemory() const override;
  Status loadMemory(const nlohmann::json& memory) override;

 private:
  // One VM's use as this policy remembers it.
  struct Use {
    double peak_kib = 0;         // the fading peak
    double first_sight_kib = 0;  // what the guest had when first seen, fading fast
    double used_kib = 0;         // at the last report
    double seen_s = 0;           // that report's last_update_s; 0 = none yet
    double rise_kib_s = 0;       // how fast the use grew between the last two reports (>= 0)
    double interval_s = 0;       // the time between those two reports
  };
  // Updates `u` from a report (once per report: the same one again changes nothing).
  void observe(Use& u, double actual_kib, double used_kib, double update_s) const;

  Params p_;
  PerVmMemory<Use> use_;
};

}  // namespace balloond::policy
