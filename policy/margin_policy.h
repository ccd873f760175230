// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "policy/policy.h"

namespace balloond::policy {

// The baseline policy: keep each guest's available memory near a margin of its size.
// Above the margin plus a hysteresis band it asks the guest to give the surplus back; below the
// margin minus the band it gives the shortfall back at once. The guards make shrinking slow and
// growing fast, and keep floors and ceilings.
class MarginPolicy : public Policy {
 public:
  // `margin`: wanted available memory as a fraction of the VM's max.
  // `hysteresis`: half-width of the dead band around it, also a fraction of max.
  MarginPolicy(double margin, double hysteresis) : margin_(margin), hysteresis_(hysteresis) {}

  std::vector<Decision> decide(const PolicyInput& input, PolicyState& state) override;

 private:
  double margin_;
  double hysteresis_;
};

}  // namespace balloond::policy
