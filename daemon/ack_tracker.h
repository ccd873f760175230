// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "policy/vm_view.h"
#include "proto/types.h"

namespace balloond {

// The acknowledgement rules' numbers, all named and defaulted.
struct AckSettings {
  int64_t min_tolerance_kib = kKibPerMib;     // settled: within max(this, ...
  double tolerance_fraction = 0.005;          // ... this fraction of the target)
  double min_rate_kib_s = kKibPerMib;         // slower progress than this is no progress
  double stuck_after_s = 5;                   // no progress this long: stuck
  double stuck_hold_s = 10;                   // a stuck VM is not asked again this long
  double window_s = 60;                       // the sliding window for uncooperative ...
  double uncooperative_fraction = 0.5;        // ... stalled for more than this part of it
  double cooperative_after_s = 60;            // flagged until progress without a stall this long
  double stale_periods = 3;                   // stats older than this many periods: stale
  double no_driver_after_s = 30;              // no stats and no movement this long: no driver
  int64_t lie_margin_kib = 256 * kKibPerMib;  // host RSS above the claimed actual by more: a lie
};

// What the tracker concluded about one VM this tick.
struct AckVerdict {
  policy::AckState state = policy::AckState::kSettled;
  std::string reason;           // why, for the view and the log; empty when settled
  bool retract = false;         // just became stuck: set its target to its actual, once
  bool shrink_blocked = false;  // it may not be asked to shrink now
  bool grow_blocked = false;    // it may not be asked to grow now
};

// What the tracker must remember about one VM across a daemon restart: the stuck hold, its
// direction and the stalled window, on the snapshot clock of the run that saved it.
struct AckMemory {
  int64_t target_kib = 0;
  bool ever_moved = false;
  double hold_until_s = -1;  // stuck until then; negative: never stuck
  int stuck_direction = 0;   // -1 stuck shrinking, +1 stuck growing
  std::string stuck_reason;
  std::vector<std::pair<double, double>> stalled;  // (time, seconds), oldest first

  friend bool operator==(const AckMemory&, const AckMemory&) = default;
};

// Tracks, per VM, whether the guest does what it was asked: the target in force, when it was
// pushed, the progress toward it, and a window of stalled time. The controller calls pushed()
// after every push and observe() once per VM per tick, before the policy runs. Pure logic on
// the snapshot's clock: no I/O, no clock reads.
class AckTracker {
 public:
  explicit AckTracker(AckSettings settings = {}) : settings_(settings) {}

  // A new target was pushed at `now_s` while the guest stood at `actual_kib`.
  void pushed(const std::string& vm, int64_t target_kib, int64_t actual_kib, double now_s);
  // Updates the VM's progress from a fresh sample and returns its state. `target_kib` is the
  // target in force; `excluded` is the configuration's say.
  AckVerdict observe(const VmSample& vm, int64_t target_kib, bool excluded, double now_s);
  // What is known about the VM, for the state file; nullopt when nothing is.
  std::optional<AckMemory> memory(const std::string& vm) const;
  // Takes back a saved memory, its times already moved onto this run's clock; `now_s` starts
  // the progress measurement afresh from `actual_kib`. `no_driver`: the VM was flagged no-driver
  // when the memory was saved; it stays flagged until its guest reports stats or moves, rather
  // than waiting `no_driver_after_s` again as a new VM would. `uncooperative`: it was flagged
  // so; the flag is sticky across the restart too, until progress without a stall clears it.
  void restore(const std::string& vm, const AckMemory& m, int64_t actual_kib, double now_s,
               bool no_driver = false, bool uncooperative = false);
  // The VM is gone: drop what is known about it.
  void forget(const std::string& vm) { tracks_.erase(vm); }

  // Seconds the VM spent stalled or stuck within the window ending at its last observation.
  double stalledSeconds(const std::string& vm) const;
  const AckSettings& settings() const { return settings_; }
  void setSettings(const AckSettings& settings) { settings_ = settings; }

 private:
  // Everything known about one VM's acknowledgements.
  struct Track {
    double first_seen_s = 0;
    int64_t first_actual_kib = 0;
    bool ever_moved = false;
    bool restored_no_driver = false;  // flagged no-driver before a restart, silent since
    double last_tick_s = 0;
    // The request in force and the progress toward it.
    int64_t target_kib = 0;
    int64_t ref_gap_kib = 0;  // gap at the last sufficient progress
    double ref_s = 0;         // when that was
    // Stuck handling.
    double hold_until_s = -1;
    int stuck_direction = 0;  // -1 stuck shrinking, +1 stuck growing
    std::string stuck_reason;
    double lie_since_s = -1;
    // Uncooperative is sticky: flagged until progress without a stall for cooperative_after_s.
    bool uncooperative = false;
    double clean_since_s = -1;  // first progress since the last stall; negative: none
    // (time, seconds) of stalled time, newest last, within the window.
    std::deque<std::pair<double, double>> stalled;
  };

  AckVerdict judge(const VmSample& vm, Track& t, int64_t target_kib, double now_s);
  void noteStalled(Track& t, double now_s, double dt, bool stalled) const;
  // Flags the VM uncooperative when it stalled too much of the window; clears the flag only
  // after progress without a stall for cooperative_after_s. Returns whether it is flagged.
  bool noteCooperation(Track& t, double now_s, double dt, bool stalled, bool progressed,
                       double stalled_s) const;
  int64_t tolerance(int64_t target_kib) const;

  AckSettings settings_;
  std::unordered_map<std::string, Track> tracks_;
};

}  // namespace balloond
