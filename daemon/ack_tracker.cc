// SPDX-License-Identifier: Apache-2.0
#include "daemon/ack_tracker.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>

namespace balloond {

using policy::AckState;

namespace {

double mib(int64_t kib) {
  return kibToMib(kib);
}

}  // namespace

int64_t AckTracker::tolerance(int64_t target_kib) const {
  return std::max(
      settings_.min_tolerance_kib,
      static_cast<int64_t>(settings_.tolerance_fraction * static_cast<double>(target_kib)));
}

void AckTracker::pushed(const std::string& vm, int64_t target_kib, int64_t actual_kib,
                        double now_s) {
  Track& t = tracks_[vm];
  t.target_kib = target_kib;
  t.ref_gap_kib = std::abs(target_kib - actual_kib);
  t.ref_s = now_s;
}

void AckTracker::noteStalled(Track& t, double now_s, double dt, bool stalled) const {
  if (stalled && dt > 0) {
    t.stalled.emplace_back(now_s, dt);
  }
  while (!t.stalled.empty() && t.stalled.front().first <= now_s - settings_.window_s) {
    t.stalled.pop_front();
  }
}

bool AckTracker::noteCooperation(Track& t, double now_s, double dt, bool stalled, bool progressed,
                                 double stalled_s) const {
  // The proof starts with progress (sitting still proves nothing) and ends at any stall.
  if (stalled) {
    t.clean_since_s = -1;
  } else if (progressed && dt > 0 && t.clean_since_s < 0) {
    t.clean_since_s = now_s - dt;
  }
  const bool over = stalled_s > settings_.uncooperative_fraction * settings_.window_s;
  t.uncooperative = t.uncooperative || over;
  if (t.uncooperative && !over && t.clean_since_s >= 0 &&
      now_s - t.clean_since_s >= settings_.cooperative_after_s) {
    t.uncooperative = false;
  }
  return t.uncooperative;
}

double AckTracker::stalledSeconds(const std::string& vm) const {
  auto it = tracks_.find(vm);
  if (it == tracks_.end()) {
    return 0;
  }
  double sum = 0;
  for (const auto& [at, seconds] : it->second.stalled) {
    sum += seconds;
  }
  return sum;
}

std::optional<AckMemory> AckTracker::memory(const std::string& vm) const {
  auto it = tracks_.find(vm);
  if (it == tracks_.end()) {
    return std::nullopt;
  }
  const Track& t = it->second;
  return AckMemory{.target_kib = t.target_kib,
                   .ever_moved = t.ever_moved,
                   .hold_until_s = t.hold_until_s,
                   .stuck_direction = t.stuck_direction,
                   .stuck_reason = t.stuck_reason,
                   .stalled = {t.stalled.begin(), t.stalled.end()}};
}

void AckTracker::restore(const std::string& vm, const AckMemory& m, int64_t actual_kib,
                         double now_s, bool no_driver, bool uncooperative) {
  Track& t = tracks_[vm];
  t = Track{};
  t.first_seen_s = t.last_tick_s = t.ref_s = now_s;
  t.first_actual_kib = actual_kib;
  t.ever_moved = m.ever_moved;
  t.restored_no_driver = no_driver && !m.ever_moved;
  t.target_kib = m.target_kib;
  t.ref_gap_kib = std::abs(m.target_kib - actual_kib);
  t.hold_until_s = m.hold_until_s;
  t.stuck_direction = m.stuck_direction;
  t.stuck_reason = m.stuck_reason;
  t.stalled.assign(m.stalled.begin(), m.stalled.end());
  t.uncooperative = uncooperative;
}

AckVerdict AckTracker::observe(const VmSample& vm, int64_t target_kib, bool excluded,
                               double now_s) {
  auto [it, added] = tracks_.try_emplace(vm.name);
  Track& t = it->second;
  if (added) {
    t.first_seen_s = t.last_tick_s = t.ref_s = now_s;
    t.first_actual_kib = vm.actual_kib;
    t.target_kib = target_kib;
  }
  if (target_kib != t.target_kib) {  // a target set without pushed(): start measuring afresh
    pushed(vm.name, target_kib, vm.actual_kib, now_s);
  }
  t.ever_moved = t.ever_moved || vm.actual_kib != t.first_actual_kib;
  AckVerdict v;
  if (excluded) {
    v.state = AckState::kExcluded;
    v.reason = "excluded by configuration";
  } else {
    v = judge(vm, t, target_kib, now_s);
  }
  t.last_tick_s = now_s;
  return v;
}

AckVerdict AckTracker::judge(const VmSample& vm, Track& t, int64_t target_kib, double now_s) {
  const AckSettings& s = settings_;
  const double dt = now_s - t.last_tick_s;
  AckVerdict v;
  if (!vm.has_balloon) {
    return {AckState::kNoDriver, "no balloon device", false, true, true};
  }
  if (vm.guest.last_update_s > 0 || t.ever_moved) {
    t.restored_no_driver = false;
  }
  // Only a guest asked to report can be judged silent: with the stats period off it is stale.
  if (vm.guest.last_update_s <= 0 && !t.ever_moved && vm.stats_period_s > 0 &&
      (t.restored_no_driver || now_s - t.first_seen_s >= s.no_driver_after_s)) {
    return {AckState::kNoDriver,
            t.restored_no_driver
                ? std::string("never reported stats or moved (flagged before a restart)")
                : fmt::format("never reported stats or moved in {:.0f} s", now_s - t.first_seen_s),
            false, true, true};
  }

  // Progress toward the target in force.
  const int64_t gap = std::abs(target_kib - vm.actual_kib);
  const bool reached = gap <= tolerance(target_kib);
  const int64_t progress = t.ref_gap_kib - gap;
  const bool progressed =
      progress > 0 && static_cast<double>(progress) >= s.min_rate_kib_s * (now_s - t.ref_s);
  if (reached || progressed) {
    t.ref_gap_kib = gap;
    t.ref_s = now_s;
  }
  const double stalled_for = now_s - t.ref_s;
  const bool in_hold = now_s < t.hold_until_s;
  if (!reached && !in_hold && stalled_for >= s.stuck_after_s) {
    t.hold_until_s = now_s + s.stuck_hold_s;
    t.stuck_direction = target_kib < vm.actual_kib ? -1 : 1;
    t.stuck_reason = fmt::format("no progress toward {:.0f} MiB for {:.0f} s at {:.0f} MiB",
                                 mib(target_kib), stalled_for, mib(vm.actual_kib));
    v.retract = true;
  }
  const bool stuck = now_s < t.hold_until_s;
  const bool stalled_now = stuck || (!reached && stalled_for >= dt && dt > 0);
  noteStalled(t, now_s, dt, stalled_now);

  // A guest whose claimed actual is far below what the host sees resident is lying.
  const bool lie_now = vm.rss_kib && *vm.rss_kib > vm.actual_kib + s.lie_margin_kib;
  t.lie_since_s = lie_now ? (t.lie_since_s < 0 ? now_s : t.lie_since_s) : -1;
  const bool lying = lie_now && now_s - t.lie_since_s >= s.stuck_after_s;

  const double stalled_s = stalledSeconds(vm.name);
  const bool uncooperative = noteCooperation(t, now_s, dt, stalled_now, progressed, stalled_s);
  const double age = now_s - vm.guest.last_update_s;
  const bool stale = vm.guest.last_update_s <= 0 || vm.stats_period_s <= 0 ||
                     age > s.stale_periods * vm.stats_period_s;
  if (lying) {
    v.state = AckState::kUncooperative;
    v.reason = fmt::format("claims {:.0f} MiB but the host sees {:.0f} MiB resident",
                           mib(vm.actual_kib), mib(*vm.rss_kib));
    v.shrink_blocked = true;
  } else if (uncooperative) {
    v.state = AckState::kUncooperative;
    v.reason = stalled_s > s.uncooperative_fraction * s.window_s
                   ? fmt::format("stalled {:.0f} s of the last {:.0f} s", stalled_s, s.window_s)
                   : fmt::format(
                         "stalled {:.0f} s of the last {:.0f} s; flagged until {:.0f} s of "
                         "progress without a stall",
                         stalled_s, s.window_s, s.cooperative_after_s);
  } else if (stuck) {
    v.state = AckState::kStuck;
    v.reason = t.stuck_reason + "; target retracted";
  } else if (stale) {
    v.state = AckState::kStale;
    v.reason = vm.stats_period_s <= 0        ? "stats period off"
               : vm.guest.last_update_s <= 0 ? "no stats reported yet"
                                             : fmt::format("stats {:.0f} s old", age);
  } else if (!reached) {
    v.state = AckState::kConverging;
  }
  // Not asked again the way it got stuck: during the hold, and while it stays uncooperative.
  if (stuck || v.state == AckState::kUncooperative) {
    v.shrink_blocked = v.shrink_blocked || t.stuck_direction < 0;
    v.grow_blocked = t.stuck_direction > 0;
  }
  return v;
}

}  // namespace balloond
