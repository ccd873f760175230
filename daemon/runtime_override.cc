// SPDX-License-Identifier: Apache-2.0
#include "daemon/runtime_override.h"

#include <algorithm>

namespace balloond {

policy::VmLimits applyRuntimeOverride(policy::VmLimits limits, const control::VmOverride& o,
                                      int64_t max_kib) {
  if (o.ceiling_kib) {
    limits.ceiling_kib = *o.ceiling_kib;
  }
  if (o.floor_kib) {
    limits.floor_kib = *o.floor_kib;
  }
  if (o.pin_kib) {
    limits.floor_kib = limits.ceiling_kib = *o.pin_kib;
  }
  if (o.excluded) {
    limits.excluded = *o.excluded;
  }
  limits.ceiling_kib = std::clamp<int64_t>(limits.ceiling_kib, 0, max_kib);
  limits.floor_kib = std::clamp<int64_t>(limits.floor_kib, 0, limits.ceiling_kib);
  return limits;
}

}  // namespace balloond
