// SPDX-License-Identifier: Apache-2.0
#include "policy/mom_policy.h"

#include <cmath>
#include <deque>
#include <numeric>

#include "policy/memory.h"
#include "policy/registry.h"

namespace balloond::policy {

namespace {

// Appends a sample and drops the oldest beyond `size` (windows are short: erasing is cheap).
template <typename Window, typename T>
void pushWindow(Window& window, T value, int size) {
  window.push_back(value);
  if (window.size() > static_cast<size_t>(size)) {
    window.erase(window.begin(),
                 window.begin() + static_cast<std::ptrdiff_t>(window.size() - size));
  }
}

template <typename Window>
double average(const Window& window) {
  // Summed as doubles: a window of guest-reported sizes cannot overflow the sum.
  return window.empty()
             ? 0.0
             : std::accumulate(window.begin(), window.end(), 0.0, [](double sum, auto v) {
                 return sum + static_cast<double>(v);
               }) / static_cast<double>(window.size());
}

}  // namespace

std::vector<Decision> MomPolicy::decide(const PolicyInput& input, PolicyState& /*state*/) {
  // (defvar host_free_percent (/ (Host.StatAvg "mem_free") Host.mem_available))
  const auto& host = input.host;
  if (host.total_kib > 0) {
    const int64_t free = host.free_kib.value_or(host.available_kib);
    pushWindow(memory_.host_free, static_cast<double>(free) / static_cast<double>(host.total_kib),
               p_.sample_window);
  }
  const double host_free = average(memory_.host_free);
  const bool shrinking = host_free < p_.pressure_threshold;
  const bool critical = host_free <= p_.pressure_critical;

  std::vector<Decision> out;
  out.reserve(input.vms.size());
  std::size_t windowed = 0;  // VMs whose windows this tick touched
  for (const auto& vm : input.vms) {
    const VmSample& s = *vm.sample;
    if (!s.guest.unused_kib) {  // a mandatory stat: no decision without it, as in MOM
      out.push_back({s.name, vm.target_kib, "mom-no-stats"});
      continue;
    }
    VmWindows& h = memory_.vms[s.name];
    ++windowed;
    pushWindow(h.actual_kib, s.actual_kib, p_.sample_window);
    pushWindow(h.unused_kib, *s.guest.unused_kib, p_.sample_window);
    const auto cur = static_cast<double>(s.actual_kib);         // guest.balloon_cur
    const auto max = static_cast<double>(s.max_kib);            // guest.balloon_max
    const auto min = static_cast<double>(vm.limits.floor_kib);  // guest.balloon_min
    const double used = average(h.actual_kib) - average(h.unused_kib);
    const auto big_enough = [&](double v) { return std::abs(v - cur) > p_.min_change * cur; };

    if (shrinking) {  // shrink_guest
      const double guest_free = critical ? host_free - p_.critical_offset
                                         : p_.min_guest_free * (host_free / p_.pressure_threshold);
      const double balloon_min = std::max(min, used + guest_free * cur);
      const double size = std::max(cur * (1 - p_.max_change), balloon_min);
      if (size > cur || !big_enough(size)) {
        out.push_back({s.name, vm.target_kib, "mom-hold"});
      } else {
        out.push_back(
            {s.name, std::llround(size), critical ? "mom-shrink-critical" : "mom-shrink"});
      }
    } else if (cur >= max) {  // grow_guest: only a ballooned guest
      out.push_back({s.name, vm.target_kib, "mom-at-max"});
    } else {
      const double balloon_min = std::max(min, used + p_.min_guest_free * cur);
      const double size = std::min(std::max(cur * (1 + p_.max_change), balloon_min), max);
      if (!big_enough(size)) {
        out.push_back({s.name, vm.target_kib, "mom-hold"});
      } else {
        out.push_back({s.name, std::llround(size), "mom-grow"});
      }
    }
  }
  forgetGoneVms(memory_.vms, input, windowed);
  return out;
}

nlohmann::json MomPolicy::saveMemory() const {
  nlohmann::json vms = nlohmann::json::object();
  for (const auto& [name, w] : memory_.vms) {
    vms[name] = {{"actual_window_kib", w.actual_kib}, {"unused_window_kib", w.unused_kib}};
  }
  return {{"host_free_history", memory_.host_free}, {"vms", std::move(vms)}};
}

Status MomPolicy::loadMemory(const nlohmann::json& memory) {
  // Windows longer than this run's sample_history_length lose their oldest samples, as the next
  // tick would drop them.
  const auto keep = static_cast<std::size_t>(p_.sample_window);
  Memory loaded;
  MemoryReader r(memory, "memory");
  r.fractions("host_free_history", loaded.host_free, keep);
  r.each("vms", [&](const std::string& name, MemoryReader& vm) {
    VmWindows& w = loaded.vms[name];
    vm.kibs("actual_window_kib", w.actual_kib, keep);
    vm.kibs("unused_window_kib", w.unused_kib, keep);
  });
  auto status = r.status();
  memory_ = status ? std::move(loaded) : Memory{};
  return status;
}

BALLOOND_REGISTER_POLICY(
    mom,
    (PolicyEntry{
        .name = "mom",
        .summary = "oVirt MOM's default balloon rules (host free thresholds, 5% steps)",
        .params =
            {
                {"pressure_threshold", 0.20, 0, 1,
                 "host free fraction (MemFree+Buffers+Cached over MemTotal) under which guests "
                 "are shrunk"},
                {"pressure_critical", 0.05, 0, 1,
                 "host free fraction at or under which pressure is critical: guests are pushed "
                 "to swap"},
                {"critical_offset", 0.05, 0, 1,
                 "critical pressure: a guest's free allowance is host free minus this"},
                {"min_guest_free_percent", 0.20, 0, 1,
                 "free memory an unconstrained guest keeps, as a fraction of its size"},
                {"max_balloon_change_percent", 0.05, 0.001, 1,
                 "most a guest's size changes per tick, as a fraction of its size"},
                {"min_balloon_change_percent", 0.0025, 0, 0.5,
                 "changes smaller than this fraction of a guest's size are skipped"},
                {"sample_history_length", 10, 1, 1000,
                 "ticks averaged for host free and guest used"},
            },
        .make = [](const ParamValues& p) -> std::unique_ptr<Policy> {
          return std::make_unique<MomPolicy>(MomPolicy::Params{
              .pressure_threshold = p.at("pressure_threshold"),
              .pressure_critical = p.at("pressure_critical"),
              .critical_offset = p.at("critical_offset"),
              .min_guest_free = p.at("min_guest_free_percent"),
              .max_change = p.at("max_balloon_change_percent"),
              .min_change = p.at("min_balloon_change_percent"),
              .sample_window = static_cast<int>(std::lround(p.at("sample_history_length"))),
          });
        },
    }));

}  // namespace balloond::policy
