// SPDX-License-Identifier: Apache-2.0
#include "daemon/sample_check.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace balloond {

namespace {

// a > b by more than the slack; both non-negative, so the difference cannot overflow.
bool above(int64_t a, int64_t b) {
  return a > b && a - b > kStatsSlackKib;
}

bool above(const std::optional<int64_t>& a, int64_t b) {
  return a && above(*a, b);
}

bool above(const std::optional<int64_t>& a, const std::optional<int64_t>& b) {
  return a && b && above(*a, *b);
}

std::optional<SampleFault> negativeField(const VmSample& vm) {
  const GuestStats& g = vm.guest;
  const std::pair<const char*, std::optional<int64_t>> fields[] = {
      {"actual", vm.actual_kib},        {"max", vm.max_kib},
      {"available", g.available_kib},   {"unused", g.unused_kib},
      {"usable", g.usable_kib},         {"disk_caches", g.disk_caches_kib},
      {"swap_in", g.swap_in_kib},       {"swap_out", g.swap_out_kib},
      {"major_faults", g.major_faults}, {"minor_faults", g.minor_faults},
      {"total", g.total_kib},
  };
  for (const auto& [name, value] : fields) {
    if (value && *value < 0) {
      return SampleFault{"negative", fmt::format("{} < 0", name)};
    }
  }
  return std::nullopt;
}

// The first counter that went backwards since `before`, or nullptr.
const char* counterBackwards(const GuestStats& before, const GuestStats& now) {
  const std::pair<const char*, std::optional<int64_t> GuestStats::*> counters[] = {
      {"swap_in", &GuestStats::swap_in_kib},
      {"swap_out", &GuestStats::swap_out_kib},
      {"major_faults", &GuestStats::major_faults},
      {"minor_faults", &GuestStats::minor_faults},
  };
  for (const auto& [name, field] : counters) {
    if ((before.*field) && (now.*field) && *(now.*field) < *(before.*field)) {
      return name;
    }
  }
  return nullptr;
}

}  // namespace

std::optional<SampleFault> checkSample(const VmSample& vm, int64_t recent_actual_kib,
                                       double now_s) {
  const GuestStats& g = vm.guest;
  if (!std::isfinite(g.last_update_s)) {
    return SampleFault{"bad-timestamp", "last update is not a number"};
  }
  if (g.last_update_s > now_s + kStatsClockSkewS) {
    return SampleFault{"future-timestamp", "last update in the future"};
  }
  if (auto negative = negativeField(vm)) {
    return negative;
  }
  const int64_t actual = std::max(vm.actual_kib, recent_actual_kib);
  struct Rule {
    bool broken;
    const char* kind;
    const char* detail;
  };
  const Rule rules[] = {
      {above(vm.actual_kib, vm.max_kib), "actual-above-max", "actual > max"},
      {above(g.total_kib, vm.max_kib), "total-above-max", "total > max"},
      {above(g.available_kib, g.total_kib), "available-above-total", "available > total"},
      {above(g.available_kib, actual), "available-above-actual", "available > actual"},
      {above(g.usable_kib, actual), "usable-above-actual", "usable > actual"},
      {above(g.unused_kib, actual), "unused-above-actual", "unused > actual"},
      {above(g.disk_caches_kib, g.total_kib), "caches-above-total", "disk caches > total"},
  };
  for (const auto& r : rules) {
    if (r.broken) {
      return SampleFault{r.kind, r.detail};
    }
  }
  return std::nullopt;
}

GuestStats withheldStats(const GuestStats& g, double now_s) {
  GuestStats out;
  out.last_update_s = std::isfinite(g.last_update_s) ? std::min(g.last_update_s, now_s) : 0;
  return out;
}

std::optional<SampleFault> SampleChecker::check(const VmSample& vm, double now_s) {
  Seen& seen = seen_[vm.name];
  while (!seen.actuals.empty() && seen.actuals.front().first < now_s - kRecentActualS) {
    seen.actuals.pop_front();
  }
  // The highest actual since the report was taken; a report older than what is remembered is
  // not compared with actual at all (the tracker judges it by its age).
  const double taken_s = vm.guest.last_update_s - kStatsClockSkewS;
  const bool remembered = seen.actuals.empty() || seen.actuals.front().first <= taken_s ||
                          now_s - kRecentActualS <= taken_s;
  int64_t recent = remembered ? vm.actual_kib : std::numeric_limits<int64_t>::max();
  for (const auto& [at, kib] : seen.actuals) {
    if (at >= taken_s) {
      recent = std::max(recent, kib);
    }
  }
  seen.actuals.emplace_back(now_s, vm.actual_kib);

  auto fault = checkSample(vm, recent, now_s);
  if (fault) {
    if (seen.logged.insert(fault->kind).second) {
      spdlog::warn(
          "stats-invalid vm={} problem={} detail=\"{}\" actual_kib={} max_kib={} "
          "available_kib={} total_kib={} unused_kib={} last_update_s={}",
          vm.name, fault->kind, fault->detail, vm.actual_kib, vm.max_kib,
          vm.guest.available_kib.value_or(-1), vm.guest.total_kib.value_or(-1),
          vm.guest.unused_kib.value_or(-1), vm.guest.last_update_s);
    }
    return fault;
  }
  if (!seen.logged.empty()) {
    spdlog::info("stats-valid vm={} after=\"{}\"", vm.name, fmt::join(seen.logged, ","));
    seen.logged.clear();
  }
  if (seen.counters) {
    if (const char* counter = counterBackwards(*seen.counters, vm.guest)) {
      spdlog::info("stats-counters-reset vm={} counter={} (a guest reboot: a new baseline)",
                   vm.name, counter);
    }
  }
  seen.counters = vm.guest;
  return std::nullopt;
}

}  // namespace balloond
