// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "policy/policy.h"

namespace balloond::policy {

// Proxmox-style auto-ballooning: keep host used memory near a set point (`set_point` of total).
// Above it (by more than `band`), the excess is taken back from the VMs in proportion to their
// room above the floor divided by their shares; below it, the room is handed out in proportion
// to shares, up to each VM's ceiling. No VM moves more than `step_mib` per tick.
//
// Unlike Proxmox it never shrinks a VM under pressure (guest available under
// `low_available` of its size, or refaulting above `pressure_kib_s`), and pressured VMs grow
// first, by a step each, before any other VM gets memory.
class HostTargetPolicy : public Policy {
 public:
  struct Params {
    double set_point = 0.80;      // wanted host used memory, fraction of total
    double band = 0.02;           // no action within set_point +- band
    double step_mib = 128;        // most a VM moves per tick
    double low_available = 0.05;  // guest available under this fraction of actual: pressured
    double pressure_kib_s = 256;  // guest refault rate above this (KiB/s): pressured
  };
  explicit HostTargetPolicy(Params p) : p_(p) {}

  std::vector<Decision> decide(const PolicyInput& input, PolicyState& state) override;

 private:
  Params p_;
};

}  // namespace balloond::policy
