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

void MomPolicy::Window::push(int64_t value, std::size_t size) {
  if (values.size() < size) {
    values.push_back(value);
    return;
  }
  values[oldest] = value;
  oldest = (oldest + 1) % values.size();
}

double MomPolicy::Window::average() const {
  return ::balloond::policy::average(values);  // order does not matter
}

std::vector<int64_t> MomPolicy::Window::oldestFirst() const {
  std::vector<int64_t> out(values.begin() + static_cast<std::ptrdiff_t>(oldest), values.end());
  out.insert(out.end(), values.begin(), values.begin() + static_cast<std::ptrdiff_t>(oldest));
  return out;
}

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
  for (std::size_t i = 0; i < input.vms.size(); ++i) {
    const VmView& vm = input.vms[i];
    const VmSample& s = *vm.sample;
    if (!s.guest.unused_kib) {  // a mandatory stat: no decision without it, as in MOM
      out.push_back({s.name, vm.target_kib, "mom-no-stats"});
      continue;
    }
    VmWindows& h = memory_.vms.of(i, s.name);
    ++windowed;
    const auto window = static_cast<std::size_t>(p_.sample_window);
    h.actual_kib.push(s.actual_kib, window);
    h.unused_kib.push(*s.guest.unused_kib, window);
    const auto cur = static_cast<double>(s.actual_kib);         // guest.balloon_cur
    const auto max = static_cast<double>(s.max_kib);            // guest.balloon_max
    const auto min = static_cast<double>(vm.limits.floor_kib);  // guest.balloon_min
    const double used = h.actual_kib.average() - h.unused_kib.average();
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
  memory_.vms.forgetGone(input, windowed);
  return out;
}

nlohmann::json MomPolicy::saveMemory() const {
  nlohmann::json vms = nlohmann::json::object();
  for (const auto& [name, w] : memory_.vms.all()) {
    vms[name] = {{"actual_window_kib", w.actual_kib.oldestFirst()},
                 {"unused_window_kib", w.unused_kib.oldestFirst()}};
  }
  return {{"host_free_history", memory_.host_free}, {"vms", std::move(vms)}};
}

Status MomPolicy::loadMemory(const nlohmann::json& memory) {
  // Windows longer than this run's sample_history_length lose their oldest samples, as the next
  // tick would drop them.
  const auto keep = static_cast<std::size_t>(p_.sample_window);
  std::deque<double> host_free;
  std::unordered_map<std::string, VmWindows> vms;
  MemoryReader r(memory, "memory");
  r.fractions("host_free_history", host_free, keep);
  r.each("vms", [&](const std::string& name, MemoryReader& vm) {
    VmWindows& w = vms[name];
    vm.kibs("actual_window_kib", w.actual_kib.values, keep);
    vm.kibs("unused_window_kib", w.unused_kib.values, keep);
  });
  auto status = r.status();
  if (!status) {
    host_free.clear();
    vms.clear();
  }
  memory_.host_free = std::move(host_free);
  memory_.vms.replace(std::move(vms));
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
