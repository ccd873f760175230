// SPDX-License-Identifier: Apache-2.0
#include "daemon/sim/scenario_checks.h"

#include <fmt/format.h>

#include <algorithm>

namespace balloond {

namespace {

double mib(int64_t kib) {
  return kibToMib(kib);
}

bool managed(const VmStatus& s) {
  return s.state != policy::AckState::kExcluded && s.state != policy::AckState::kNoDriver;
}

std::optional<Violation> belowFloor(const InvariantInput& in) {
  for (const auto& s : in.vms) {
    if (managed(s) && s.target_kib < s.floor_kib) {
      return Violation{fmt::format("{} target {:.1f} MiB is below its floor {:.1f} MiB", s.name,
                                   mib(s.target_kib), mib(s.floor_kib)),
                       {s.name}};
    }
  }
  return std::nullopt;
}

std::optional<Violation> aboveCeiling(const InvariantInput& in) {
  for (const auto& s : in.vms) {
    if (managed(s) && s.target_kib > s.ceiling_kib) {
      return Violation{fmt::format("{} target {:.1f} MiB is above its ceiling {:.1f} MiB", s.name,
                                   mib(s.target_kib), mib(s.ceiling_kib)),
                       {s.name}};
    }
  }
  return std::nullopt;
}

std::optional<Violation> hostBelowReserve(const InvariantInput& in) {
  if (in.snapshot.host.available_kib >= in.reserve_kib) {
    return std::nullopt;
  }
  return Violation{fmt::format("host available {:.0f} MiB is below the reserve {:.0f} MiB",
                               mib(in.snapshot.host.available_kib), mib(in.reserve_kib)),
                   {}};
}

std::optional<Violation> allocatedBeforeFreed(const InvariantInput& in) {
  int64_t growth = 0;
  std::set<std::string> growing;
  for (const auto& s : in.vms) {
    // Growth up to what the guest needs is never held back: it is not allocation from nothing.
    const int64_t beyond = s.target_kib - std::max(s.actual_kib, s.effective_floor_kib);
    if (beyond > 0) {
      growth += beyond;
      growing.insert(s.name);
    }
  }
  const int64_t free = std::max<int64_t>(0, in.snapshot.host.available_kib - in.reserve_kib);
  if (growth <= free + kKibPerMib) {
    return std::nullopt;
  }
  return Violation{fmt::format("targets would grow VMs by {:.0f} MiB beyond their needs with "
                               "only {:.0f} MiB free above the reserve",
                               mib(growth), mib(free)),
                   growing};
}

std::optional<Violation> oomKills(const InvariantInput& in) {
  if (in.oom_killed.empty()) {
    return std::nullopt;
  }
  std::string names;
  for (const auto& vm : in.oom_killed) {
    names += (names.empty() ? "" : ", ") + vm;
  }
  return Violation{"OOM kills in " + names, in.oom_killed};
}

}  // namespace

std::optional<Violation> checkInvariant(const std::string& name, const InvariantInput& in) {
  if (name == "no_target_below_floor") return belowFloor(in);
  if (name == "no_target_above_ceiling") return aboveCeiling(in);
  if (name == "host_free_never_below_reserve") return hostBelowReserve(in);
  if (name == "free_before_allocate") return allocatedBeforeFreed(in);
  if (name == "no_oom") return oomKills(in);
  return Violation{"unknown invariant '" + name + "'", {}};
}

}  // namespace balloond
