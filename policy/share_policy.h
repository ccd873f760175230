// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <unordered_map>

#include "policy/per_vm_memory.h"
#include "policy/policy.h"

namespace balloond::policy {

// Proportional shares with an idle memory tax (Waldspurger, "Memory Resource Management in VMware
// ESX Server", OSDI 2002). Each VM has shares S (`vms[].shares`), pages P (its actual size) and an
// active fraction f. Its shares-per-page ratio is rho = S / (P * (f + k * (1 - f))), with
// k = 1 / (1 - tax_rate): an idle page costs k times an active one. When host memory is needed,
// ESX reclaims from the VM with the lowest rho and gives to the highest until no transfer helps;
// this policy computes that end point directly (every unclamped VM at one rho, the others at
// their floor or ceiling) and the guards step each VM toward it.
//
// The active fraction. ESX samples random pages and counts the touched ones; a balloon driver
// does not tell us which pages are touched, so we estimate from what the guest reports: memory it
// uses that it cannot give back without swapping (actual - MemAvailable: kernel, anonymous and
// dirty memory) counts as active; free memory and reclaimable page cache count as idle. A guest
// whose refault rate (major faults plus swap-in) is above `pressure_kib_s` is short of memory and
// counts as fully active. As in ESX, the estimate is smoothed by a fast and a slow moving average
// and the larger one is used, so a guest that becomes active is believed at once and one that
// goes idle is believed slowly.
class SharePolicy : public Policy {
 public:
  struct Params {
    double tax_rate = 0.75;          // tau: 0 = plain shares, towards 1 = idle memory is reclaimed
    double fast_alpha = 0.5;         // weight of a new sample in the fast active average
    double slow_alpha = 0.05;        // weight of a new sample in the slow active average
    double host_free_target = 0.06;  // host memory kept free, fraction of total (ESX "high")
    double pressure_kib_s = 256;     // refault rate above which a guest counts as fully active
  };
  explicit SharePolicy(Params p) : p_(p) {}

  std::vector<Decision> decide(const PolicyInput& input, PolicyState& state) override;
  // {"vms": {name: {"active_fast": f, "active_slow": f}}}
  nlohmann::json saveMemory() const override;
  Status loadMemory(const nlohmann::json& memory) override;

 private:
  // One VM's active fraction as a fast and a slow moving average (ESX takes the larger);
  // negative: no estimate yet.
  struct ActiveFraction {
    double fast = -1;
    double slow = -1;
  };

  Params p_;
  PerVmMemory<ActiveFraction> active_;  // by VM name
};

// One VM's claim for the share allocation, in KiB.
struct ShareClaim {
  double shares = 1000;
  double active_kib = 0;  // f * P: memory the VM actively uses
  double lo_kib = 0;      // floor (or actual, when it cannot shrink)
  double hi_kib = 0;      // ceiling
};

// Divides `memory_kib` so that every VM not at its bounds has the same rho, with idle memory
// taxed at k = 1 / (1 - tax_rate). Exposed for tests.
std::vector<double> shareAllocation(const std::vector<ShareClaim>& claims, double memory_kib,
                                    double tax_rate);

}  // namespace balloond::policy
