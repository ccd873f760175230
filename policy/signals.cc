// SPDX-License-Identifier: Apache-2.0
#include "policy/signals.h"

#include <algorithm>

#include "policy/saturating.h"

namespace balloond::policy {

double observeCounters(VmPolicyState& h, const VmSample& s) {
  const GuestStats& g = s.guest;
  if (g.last_update_s <= h.counters_s || (!g.major_faults && !g.swap_in_kib)) {
    return 0;
  }
  const int64_t faults = g.major_faults.value_or(0);
  const int64_t swap_in = g.swap_in_kib.value_or(0);
  double dt = 0;
  if (h.counters_s > 0) {
    dt = g.last_update_s - h.counters_s;
    h.major_faults_per_s =
        static_cast<double>(std::max<int64_t>(0, satSub(faults, h.major_faults))) / dt;
    h.swap_in_kib_per_s =
        static_cast<double>(std::max<int64_t>(0, satSub(swap_in, h.swap_in_kib))) / dt;
  }
  h.counters_s = g.last_update_s;
  h.major_faults = faults;
  h.swap_in_kib = swap_in;
  return dt;
}

double refaultKibPerS(const VmPolicyState& h) {
  return h.major_faults_per_s * static_cast<double>(kPageKib) + h.swap_in_kib_per_s;
}

std::optional<int64_t> availableKib(const VmSample& s) {
  if (!s.guest.available_kib) {
    return std::nullopt;
  }
  return std::clamp<int64_t>(*s.guest.available_kib, 0, s.actual_kib);
}

int64_t usedKib(const VmSample& s) {
  return s.actual_kib - availableKib(s).value_or(0);
}

}  // namespace balloond::policy
