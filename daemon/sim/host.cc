// SPDX-License-Identifier: Apache-2.0
#include "daemon/sim/host.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "daemon/sim/workload.h"

namespace balloond::sim {

namespace {

// Model constants. Rates in MiB/s; a page is 4 KiB, so one MiB is 256 pages (faults).
constexpr int64_t kMaxStepUs = 100'000;      // the longest internal step: 0.1 s
constexpr double kSwapInRateMibS = 64;       // how fast swapped pages come back
constexpr double kCacheFillRateMibS = 64;    // how fast page cache refills from free memory
constexpr double kCacheInflateSlowdown = 4;  // inflating into page cache runs at rate / 4
constexpr double kFaultsPerMib = 256;        // one fault per 4 KiB page
constexpr double kThrashFaultsPerS = 2000;   // major faults/s with the whole working set in swap
constexpr double kRefaultsPerMibS = 2;       // major faults/s per MiB of missing page cache
constexpr double kEpsilonMib = 1e-9;         // rounding slack when comparing sizes

// Seconds to the clock's whole microseconds.
int64_t toUs(double s) {
  return std::llround(s * 1e6);
}

// MiB to the nearest KiB, as the proto types report sizes.
int64_t toKib(double mib) {
  return std::llround(mib * kKibPerMib);
}

// Recomputes free memory after any change: what is neither kernel, anonymous nor page cache.
void refreshFree(GuestState& g) {
  g.free_mib = std::max(0.0, g.actual_mib - g.kernel_mib - g.anon_resident_mib - g.cache_mib);
}

// How fast a balloon driver moves this step (MiB/s), by what it has to take or give back.
struct DriverRates {
  double from_free = 0;   // inflating while the guest has free memory
  double from_cache = 0;  // inflating while the guest must drop page cache
  double from_anon = 0;   // inflating while the guest must swap out or kill its workload
  double deflate = 0;
};

// How fast the driver can move `t` seconds after its VM started. Every model's effect on speed
// is here; its effect on where it stops is in driverTarget(), on stats in reportsAt().
DriverRates driverRates(const config::DriverSpec& d, double t) {
  const std::string& m = d.model;
  const bool stalled = m == "no-driver" || m == "lying" || (m == "stuck" && t >= d.from_s) ||
                       (m == "intermittent" && std::fmod(t, d.work_s + d.stall_s) >= d.work_s);
  if (stalled) {
    return {};
  }
  if (m == "slow") {
    const double p = d.pressure_rate_mib_s;
    return {p, p, p, p};
  }
  return {d.rate_mib_s, d.rate_mib_s / kCacheInflateSlowdown, d.pressure_rate_mib_s,
          d.deflate_rate_mib_s};
}

// Where the driver actually heads for a requested target: a hidden floor or ceiling it cannot
// pass, or a small shortfall it never closes.
double driverTarget(const config::DriverSpec& d, double actual_mib, double target_mib) {
  if (d.model == "hidden-floor") {
    return std::max(target_mib, std::min(actual_mib, d.limit_mib));
  }
  if (d.model == "hidden-ceiling") {
    return std::min(target_mib, std::max(actual_mib, d.limit_mib));
  }
  const double short_mib = d.short_kib / static_cast<double>(kKibPerMib);
  if (std::abs(actual_mib - target_mib) <= short_mib) {
    return actual_mib;
  }
  return target_mib < actual_mib ? target_mib + short_mib : target_mib - short_mib;
}

// Whether the driver still reports stats `t` seconds after its VM started.
bool reportsAt(const config::DriverSpec& d, double t) {
  return d.stats_period_s > 0 && d.model != "no-driver" &&
         !(d.model == "stale-stats" && t >= d.freeze_at_s);
}

// What an inflating driver takes from each of the guest's pools in one step.
struct Taken {
  double free = 0;
  double cache = 0;
  double anon = 0;
  [[nodiscard]] double total() const { return free + cache + anon; }
};

// Spends dt seconds inflating by at most `want` MiB: free memory, then cache, then anonymous
// memory (only what swap can still take), each at its own rate, so a step that crosses from one
// pool to the next is timed exactly.
Taken planInflate(const GuestState& g, const DriverRates& r, double want, double dt,
                  double swap_mib) {
  Taken t;
  double time = dt;
  auto take = [&](double pool, double rate) {
    if (rate <= 0 || time <= 0) {
      return 0.0;
    }
    const double x = std::max(0.0, std::min({want - t.total(), pool, rate * time}));
    time -= x / rate;
    return x;
  };
  t.free = take(g.free_mib, r.from_free);
  t.cache = take(g.cache_mib, r.from_cache);
  t.anon = take(std::min(g.anon_resident_mib, std::max(0.0, swap_mib - g.anon_swapped_mib)),
                r.from_anon);
  return t;
}

// Evicts `mib` of resident anonymous memory to swap. False if swap cannot hold all of it: what
// fits is swapped, and the caller must OOM-kill the workload.
bool swapOut(GuestState& g, double mib, double swap_mib) {
  const double moved = std::min(mib, std::max(0.0, swap_mib - g.anon_swapped_mib));
  g.anon_resident_mib -= mib;
  g.anon_swapped_mib += moved;
  g.counters.swapped_out_mib += moved;
  return mib - moved <= kEpsilonMib;
}

// Inflates toward `target` for one step. Like Linux's virtio_balloon, whose page allocations
// never call the OOM killer (__GFP_NORETRY): with nothing left to free or swap out, the balloon
// stops short of its target and the workload lives.
void inflate(GuestState& g, const DriverRates& r, double target, double dt, double swap_mib) {
  const Taken t = planInflate(g, r, g.actual_mib - target, dt, swap_mib);
  g.actual_mib -= t.total();
  g.cache_mib -= t.cache;
  swapOut(g, t.anon, swap_mib);  // fits: planInflate took no more than swap can hold
  refreshFree(g);
}

// Deflates toward `target` for one step.
void deflate(GuestState& g, const DriverRates& r, double target, double dt) {
  g.actual_mib += std::min(target - g.actual_mib, r.deflate * dt);
  refreshFree(g);
}

// Sets the working set: growth takes free memory, then page cache, then pushes older pages to
// swap; shrinking frees resident pages, then swapped ones. True if the guest must OOM-kill.
bool setWanted(GuestState& g, double wanted, double swap_mib) {
  g.wanted_anon_mib = wanted;
  const double grow = wanted - g.anon_resident_mib - g.anon_swapped_mib;
  if (grow <= 0) {
    const double from_resident = std::min(-grow, g.anon_resident_mib);
    g.anon_resident_mib -= from_resident;
    g.anon_swapped_mib = std::max(0.0, g.anon_swapped_mib - (-grow - from_resident));
    refreshFree(g);
    return false;
  }
  g.counters.minor_faults += grow * kFaultsPerMib;
  const double from_free = std::min(grow, g.free_mib);
  const double from_cache = std::min(grow - from_free, g.cache_mib);
  g.cache_mib -= from_cache;
  g.anon_resident_mib += grow;
  const bool fits = swapOut(g, grow - from_free - from_cache, swap_mib);
  refreshFree(g);
  return !fits;
}

// Brings swapped pages back, using free memory first and then dropping page cache.
void swapIn(GuestState& g, double dt) {
  const double x = std::min({g.anon_swapped_mib, kSwapInRateMibS * dt, g.free_mib + g.cache_mib});
  if (x <= 0) {
    return;
  }
  g.cache_mib -= std::max(0.0, x - g.free_mib);
  g.anon_swapped_mib -= x;
  g.anon_resident_mib += x;
  g.counters.swapped_in_mib += x;
  g.counters.major_faults += x * kFaultsPerMib;
  refreshFree(g);
}

// Grows page cache toward the file working set, from free memory only.
void fillCache(GuestState& g, double cache_mib, double dt) {
  const double x = std::min({cache_mib - g.cache_mib, kCacheFillRateMibS * dt, g.free_mib});
  if (x > 0) {
    g.cache_mib += x;
    refreshFree(g);
  }
}

// Major faults from pressure: touching swapped pages (thrash) and re-reading dropped file pages.
void addPressureFaults(GuestState& g, double cache_mib, double dt) {
  if (g.anon_swapped_mib > 0 && g.wanted_anon_mib > 0) {
    g.counters.major_faults += g.anon_swapped_mib / g.wanted_anon_mib * kThrashFaultsPerS * dt;
  }
  g.counters.major_faults += std::max(0.0, cache_mib - g.cache_mib) * kRefaultsPerMibS * dt;
}

// What the driver reports now: a MemAvailable-like view of the guest, counters since boot.
GuestStats capture(const GuestState& g, double now_s) {
  GuestStats s;
  s.available_kib = toKib(g.free_mib + g.cache_mib);
  s.unused_kib = toKib(g.free_mib);
  s.usable_kib = toKib(g.free_mib + g.cache_mib);
  s.disk_caches_kib = toKib(g.cache_mib);
  s.swap_in_kib = toKib(g.counters.swapped_in_mib);
  s.swap_out_kib = toKib(g.counters.swapped_out_mib);
  s.major_faults = static_cast<int64_t>(g.counters.major_faults);
  s.minor_faults = static_cast<int64_t>(g.counters.minor_faults);
  s.total_kib = toKib(g.actual_mib);
  s.last_update_s = now_s;
  return s;
}

}  // namespace

SimHost::SimHost(config::SimHostSpec spec) : spec_(std::move(spec)) {
  for (const auto& vm_spec : spec_.vms) {
    Vm vm;
    vm.spec = vm_spec;
    vm.state.kernel_mib = vm_spec.workload.kernel_mib;
    by_name_.try_emplace(vm.spec.name, vms_.size());
    vms_.push_back(std::move(vm));
  }
  for (auto& vm : vms_) {
    lifecycle(vm);
  }
}

void SimHost::advance(double dt_s) {
  const Micros end = now_us_ + toUs(dt_s);
  while (now_us_ < end) {
    step(std::min({kMaxStepUs, end - now_us_, nextEventUs() - now_us_}));
  }
}

void SimHost::step(Micros dt_us) {
  const Micros end = now_us_ + dt_us;
  for (auto& vm : vms_) {
    if (vm.state.running) {
      stepGuest(vm, static_cast<double>(dt_us) / 1e6, end);
    }
  }
  now_us_ = end;
  now_s_ = static_cast<double>(now_us_) / 1e6;
  for (auto& vm : vms_) {
    lifecycle(vm);
  }
}

void SimHost::stepGuest(Vm& vm, double dt_s, Micros end_us) {
  GuestState& g = vm.state;
  const config::WorkloadSpec& w = vm.spec.workload;
  const config::DriverSpec& d = vm.spec.driver;
  const double age = static_cast<double>(end_us - vm.started_us) / 1e6 - dt_s;  // at step start
  const DriverRates rates = driverRates(d, age);
  const double target = driverTarget(d, g.actual_mib, g.target_mib);
  if (target < g.actual_mib) {
    inflate(g, rates, target, dt_s, vm.spec.swap_mib);
  } else if (target > g.actual_mib) {
    deflate(g, rates, target, dt_s);
  }
  if (d.model == "lying") {  // claims to move at its rate; the host sees nothing come back
    const double step =
        (g.target_mib < vm.claimed_actual_mib ? d.rate_mib_s : d.deflate_rate_mib_s) * dt_s;
    vm.claimed_actual_mib += std::clamp(g.target_mib - vm.claimed_actual_mib, -step, step);
  }
  if (!vm.restart_at_us) {
    const double t = static_cast<double>(end_us - vm.workload_start_us) / 1e6;
    if (setWanted(g, workingSetMib(w, t), vm.spec.swap_mib)) {
      oomKill(vm, end_us);
    }
  }
  swapIn(g, dt_s);
  fillCache(g, w.cache_mib, dt_s);
  addPressureFaults(g, w.cache_mib, dt_s);
}

void SimHost::lifecycle(Vm& vm) {
  const config::SimVmSpec& s = vm.spec;
  GuestState& g = vm.state;
  if (!vm.started && now_us_ >= toUs(s.start_s)) {
    vm.started = true;
    g.running = true;
    g.actual_mib = std::clamp(s.actual_mib.value_or(s.max_mib), 0.0, s.max_mib);
    g.target_mib = g.actual_mib;
    vm.claimed_actual_mib = g.actual_mib;
    vm.started_us = now_us_;
    refreshFree(g);
    vm.next_report_us = now_us_ + toUs(s.driver.stats_period_s);
    startWorkload(vm);
  }
  if (g.running && s.stop_s && now_us_ >= toUs(*s.stop_s)) {
    g.running = false;
  }
  if (!g.running) {
    return;
  }
  if (vm.restart_at_us && now_us_ >= *vm.restart_at_us) {
    vm.restart_at_us.reset();
    startWorkload(vm);
  }
  const double age = static_cast<double>(now_us_ - vm.started_us) / 1e6;
  if (reportsAt(s.driver, age) && now_us_ >= vm.next_report_us) {
    vm.report = capture(g, now_s_);
    vm.next_report_us = now_us_ + std::max<Micros>(1, toUs(s.driver.stats_period_s));
  }
}

void SimHost::startWorkload(Vm& vm) {
  vm.workload_start_us = now_us_;
  if (setWanted(vm.state, workingSetMib(vm.spec.workload, 0), vm.spec.swap_mib)) {
    oomKill(vm, now_us_);
  }
}

void SimHost::oomKill(Vm& vm, Micros at_us) {
  GuestState& g = vm.state;
  g.counters.oom_kills++;
  g.anon_resident_mib = 0;
  g.anon_swapped_mib = 0;
  g.wanted_anon_mib = 0;
  refreshFree(g);
  vm.restart_at_us = at_us + toUs(vm.spec.workload.restart_s);
}

SimHost::Micros SimHost::nextEventUs() const {
  Micros next = std::numeric_limits<Micros>::max();
  auto consider = [&](Micros t) {
    if (t > now_us_) {
      next = std::min(next, t);
    }
  };
  for (const auto& vm : vms_) {
    if (!vm.started) {
      consider(toUs(vm.spec.start_s));
    }
    if (!vm.state.running) {
      continue;
    }
    if (vm.spec.stop_s) {
      consider(toUs(*vm.spec.stop_s));
    }
    if (vm.restart_at_us) {
      consider(*vm.restart_at_us);
    }
    if (vm.spec.driver.stats_period_s > 0) {
      consider(vm.next_report_us);
    }
  }
  return next;
}

Snapshot SimHost::snapshot() const {
  Snapshot s;
  s.time_s = now_s_;
  s.host.total_kib = hostTotalKib();
  s.host.available_kib = hostAvailableKib();
  s.vms.reserve(vms_.size());
  for (const auto& vm : vms_) {
    if (vm.state.running) {
      s.vms.push_back(sample(vm));
    }
  }
  return s;
}

VmSample SimHost::sample(const Vm& vm) const {
  VmSample v;
  v.name = vm.spec.name;
  v.max_kib = toKib(vm.spec.max_mib);
  v.actual_kib =
      toKib(vm.spec.driver.model == "lying" ? vm.claimed_actual_mib : vm.state.actual_mib);
  v.rss_kib = toKib(vm.state.actual_mib);  // the host's own view: a lie does not reach it
  v.stats_period_s = vm.spec.driver.stats_period_s;
  v.guest = vm.report;
  return v;
}

bool SimHost::setTarget(const std::string& vm, int64_t target_kib) {
  auto it = by_name_.find(vm);
  if (it == by_name_.end() || !vms_[it->second].state.running) {
    return false;
  }
  Vm& v = vms_[it->second];
  v.state.target_mib = std::clamp(kibToMib(target_kib), 0.0, v.spec.max_mib);
  return true;
}

bool SimHost::setWorkload(const std::string& vm, const config::WorkloadSpec& workload) {
  for (auto& v : vms_) {
    if (v.spec.name == vm) {
      v.spec.workload = workload;
      if (v.state.running && !v.restart_at_us) {
        startWorkload(v);
      }
      return true;
    }
  }
  return false;
}

const GuestState* SimHost::guest(const std::string& vm) const {
  for (const auto& v : vms_) {
    if (v.spec.name == vm) {
      return &v.state;
    }
  }
  return nullptr;
}

std::vector<std::string> SimHost::names() const {
  std::vector<std::string> out;
  for (const auto& vm : vms_) {
    out.push_back(vm.spec.name);
  }
  return out;
}

double SimHost::hostUsedMib() const {
  double used = spec_.overhead_mib;
  for (const auto& vm : vms_) {
    if (vm.state.running) {
      used += vm.state.actual_mib + spec_.per_vm_overhead_mib;
    }
  }
  return used;
}

int64_t SimHost::hostAvailableKib() const {
  return toKib(std::max(0.0, spec_.total_mib - hostUsedMib()));
}

int64_t SimHost::hostTotalKib() const {
  return toKib(spec_.total_mib);
}

double SimHost::hostShortfallMib() const {
  return std::max(0.0, hostUsedMib() - spec_.total_mib);
}

int64_t SimHost::totalOomKills() const {
  int64_t kills = 0;
  for (const auto& vm : vms_) {
    kills += vm.state.counters.oom_kills;
  }
  return kills;
}

double SimHost::totalSwappedOutMib() const {
  double mib = 0;
  for (const auto& vm : vms_) {
    mib += vm.state.counters.swapped_out_mib;
  }
  return mib;
}

}  // namespace balloond::sim
