// SPDX-License-Identifier: Apache-2.0
#include "daemon/ack_tracker.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>

namespace balloond {
namespace {

using policy::AckState;

// Drives one VM through the tracker tick by tick: `actual_at(t)` gives its actual in MiB.
class TrackerRun {
 public:
  static constexpr double kStart = 100;  // the host clock when the test's t = 0

  explicit TrackerRun(AckSettings settings = {}) : tracker_(settings) {
    vm_.name = "vm";
    vm_.max_kib = mibToKib(2048);
    vm_.actual_kib = mibToKib(2048);
    vm_.guest.last_update_s = 0;
  }
  // Pushes a target now (as the controller does).
  void push(double target_mib) {
    target_kib_ = mibToKib(target_mib);
    tracker_.pushed("vm", target_kib_, vm_.actual_kib, now_);
  }
  // Observes at time t with the given actual; stats fresh unless said otherwise.
  AckVerdict at(double t, double actual_mib, bool fresh_stats = true) {
    t += kStart;
    now_ = t;
    vm_.actual_kib = mibToKib(actual_mib);
    vm_.rss_kib.reset();
    if (fresh_stats) {
      vm_.guest.last_update_s = t;
    }
    return tracker_.observe(vm_, target_kib_, false, t);
  }
  AckVerdict atWithRss(double t, double actual_mib, double rss_mib) {
    t += kStart;
    now_ = t;
    vm_.actual_kib = mibToKib(actual_mib);
    vm_.rss_kib = mibToKib(rss_mib);
    vm_.guest.last_update_s = t;
    return tracker_.observe(vm_, target_kib_, false, t);
  }
  VmSample& vm() { return vm_; }
  AckTracker& tracker() { return tracker_; }

 private:
  AckTracker tracker_;
  VmSample vm_;
  int64_t target_kib_ = mibToKib(2048);
  double now_ = 0;
};

TEST(AckTrackerTest, SettledWithinToleranceAndConvergingWhileMoving) {
  TrackerRun run;
  EXPECT_EQ(run.at(0, 2048).state, AckState::kSettled);
  run.push(1024);
  EXPECT_EQ(run.at(1, 1536).state, AckState::kConverging);
  EXPECT_EQ(run.at(2, 1024.5).state, AckState::kSettled);  // 0.5 MiB short: within 1 MiB
}

TEST(AckTrackerTest, AGuestThatBarelyMovesIsStuckAfterFiveSeconds) {
  TrackerRun run;
  run.at(0, 2048);
  run.push(1024);
  double actual = 2048;
  for (int t = 1; t <= 4; ++t) {
    actual -= 0.004;  // one page now and then: not progress
    EXPECT_EQ(run.at(t, actual).state, AckState::kConverging) << t;
  }
  const AckVerdict v = run.at(5, actual - 0.004);
  EXPECT_EQ(v.state, AckState::kStuck);
  EXPECT_TRUE(v.retract);
  EXPECT_TRUE(v.shrink_blocked);
  EXPECT_FALSE(v.grow_blocked);
  EXPECT_EQ(v.reason, "no progress toward 1024 MiB for 5 s at 2048 MiB; target retracted");
}

TEST(AckTrackerTest, TheStuckHoldEndsAndRealProgressMakesItActiveAgain) {
  TrackerRun run;
  run.at(0, 2048);
  run.push(1024);
  for (int t = 1; t <= 5; ++t) {
    run.at(t, 2048);
  }
  run.push(2048);  // the controller retracts to the actual
  for (int t = 6; t < 15; ++t) {
    EXPECT_EQ(run.at(t, 2048).state, AckState::kStuck) << t;
  }
  EXPECT_EQ(run.at(15, 2048).state, AckState::kSettled);
  run.push(1024);
  EXPECT_EQ(run.at(16, 1800).state, AckState::kConverging);
  EXPECT_EQ(run.at(17, 1024).state, AckState::kSettled);
}

TEST(AckTrackerTest, MovingAtTheMinimumRateIsProgress) {
  TrackerRun run;
  run.at(0, 2048);
  run.push(1024);
  for (int t = 1; t <= 20; ++t) {
    EXPECT_EQ(run.at(t, 2048 - 1.0 * t).state, AckState::kConverging) << t;
  }
}

TEST(AckTrackerTest, StalledMostOfTheWindowIsUncooperative) {
  // Stuck 19 s, active 1 s, over and over: the controller re-asks after every hold.
  TrackerRun run;
  run.at(0, 2048);
  double actual = 2048;
  run.push(actual - 512);
  bool caught = false;
  for (int t = 1; t <= 120; ++t) {
    const bool active = t % 20 == 19;
    actual -= active ? 64 : 0;
    AckVerdict v = run.at(t, actual);
    if (v.retract) {
      run.push(actual);
    } else if (v.state == AckState::kSettled) {
      run.push(actual - 512);  // the policy asks again once the hold is over
    }
    caught = caught || v.state == AckState::kUncooperative;
  }
  EXPECT_TRUE(caught);
}

TEST(AckTrackerTest, OnceUncooperativeItStaysFlaggedWhileItKeepsStalling) {
  // Stalls 19 s of every 20 and moves toward its target in the 20th: once flagged it never
  // flips back to converging or settled, though its window later holds less than half stalled.
  TrackerRun run;
  run.at(0, 2048);
  double actual = 2048;
  double target = actual - 512;
  run.push(target);
  double flagged_at = -1;
  for (int t = 1; t <= 300; ++t) {
    if (t % 20 == 19) {
      actual = std::max(target, actual - 64);
    }
    AckVerdict v = run.at(t, actual);
    if (v.retract) {
      run.push(target = actual);
    } else if (v.state == AckState::kSettled) {
      run.push(target = actual - 512);  // the policy asks again once it is not blocked
    }
    if (flagged_at < 0 && v.state == AckState::kUncooperative) {
      flagged_at = t;
    }
    if (flagged_at >= 0) {
      EXPECT_EQ(v.state, AckState::kUncooperative) << t;
      EXPECT_TRUE(v.shrink_blocked) << t;
    }
  }
  EXPECT_GT(flagged_at, 0);
  EXPECT_LT(flagged_at, 60);
}

TEST(AckTrackerTest, UncooperativeIsClearedAfterProgressWithoutAStallForCooperativeAfterS) {
  AckSettings s;
  s.cooperative_after_s = 30;
  TrackerRun run(s);
  run.at(0, 2048);
  run.push(1024);
  int t = 1;
  for (; t <= 40; ++t) {  // never moves: stuck, then uncooperative
    run.at(t, 2048);
  }
  ASSERT_EQ(run.at(t, 2048).state, AckState::kUncooperative);
  // Sitting still at a retracted target is no proof of cooperation.
  run.push(2048);
  for (++t; t <= 140; ++t) {
    ASSERT_EQ(run.at(t, 2048).state, AckState::kUncooperative) << t;
  }
  // Asked again, it moves steadily: flagged for 30 s more, then cleared.
  run.push(1024);
  double actual = 2048;
  const int start = t;
  for (; t < start + 29; ++t) {
    actual -= 8;
    EXPECT_EQ(run.at(t, actual).state, AckState::kUncooperative) << t;
  }
  actual -= 8;
  EXPECT_EQ(run.at(t, actual).state, AckState::kConverging) << t;
}

// The flag is sticky across a restart too: a guest saved as uncooperative comes back so, even
// with a stall window that alone would not flag it, until it proves cooperation.
TEST(AckTrackerTest, AFlagSavedAsUncooperativeComesBackSticky) {
  AckSettings s;
  s.cooperative_after_s = 10;
  TrackerRun run(s);
  AckMemory saved;
  saved.target_kib = mibToKib(2048);
  saved.ever_moved = true;
  run.tracker().restore("vm", saved, mibToKib(2048), TrackerRun::kStart, false, true);
  EXPECT_EQ(run.at(0, 2048).state, AckState::kUncooperative);
  EXPECT_EQ(run.at(5, 2048).state, AckState::kUncooperative);
  run.push(1024);  // asked again at 5, it moves steadily and is cleared 10 s after it started
  double actual = 2048;
  int t = 6;
  for (; t < 15; ++t) {
    actual -= 8;
    EXPECT_EQ(run.at(t, actual).state, AckState::kUncooperative) << t;
  }
  actual -= 8;
  EXPECT_EQ(run.at(t, actual).state, AckState::kConverging) << t;

  TrackerRun fresh(s);  // saved as anything else: judged on its window alone
  fresh.tracker().restore("vm", saved, mibToKib(2048), TrackerRun::kStart, false, false);
  EXPECT_EQ(fresh.at(0, 2048).state, AckState::kSettled);
}

TEST(AckTrackerTest, BriefStallsAreNeverStuck) {
  // Works 5 s at 10 MiB/s, stalls 3 s, over and over.
  TrackerRun run;
  run.at(0, 2048);
  run.push(256);
  double actual = 2048;
  for (int t = 1; t <= 120; ++t) {
    actual -= t % 8 < 5 ? 10 : 0;
    const AckVerdict v = run.at(t, actual);
    EXPECT_NE(v.state, AckState::kStuck) << t;
    EXPECT_NE(v.state, AckState::kUncooperative) << t;
  }
}

TEST(AckTrackerTest, StaleStatsAndNoDriver) {
  TrackerRun run;  // the default allows 30 s for the guest to boot
  run.vm().stats_period_s = 1;
  EXPECT_EQ(run.at(0, 2048, false).state, AckState::kStale);  // no stats yet
  EXPECT_EQ(run.at(29, 2048, false).reason, "no stats reported yet");
  const AckVerdict none = run.at(30, 2048, false);
  EXPECT_EQ(none.state, AckState::kNoDriver);
  EXPECT_EQ(none.reason, "never reported stats or moved in 30 s");

  TrackerRun frozen;
  frozen.vm().stats_period_s = 1;
  frozen.at(0, 2048);
  EXPECT_EQ(frozen.at(3, 2048, false).state, AckState::kSettled);  // 3 s old: 3 periods
  const AckVerdict stale = frozen.at(4, 2048, false);
  EXPECT_EQ(stale.state, AckState::kStale);
  EXPECT_EQ(stale.reason, "stats 4 s old");
}

// A guest whose stats period is off was never asked to report: its silence says nothing about
// its driver, so it stays stale (and is never shrunk on stats it does not have).
TEST(AckTrackerTest, StatsPeriodOffIsStaleNotNoDriver) {
  TrackerRun run;
  run.vm().stats_period_s = 0;
  run.at(0, 2048, false);
  const AckVerdict v = run.at(100, 2048, false);
  EXPECT_EQ(v.state, AckState::kStale);
  EXPECT_EQ(v.reason, "stats period off");
}

TEST(AckTrackerTest, NoBalloonDeviceIsNoDriver) {
  TrackerRun run;
  run.vm().has_balloon = false;
  const AckVerdict v = run.at(0, 2048);
  EXPECT_EQ(v.state, AckState::kNoDriver);
  EXPECT_EQ(v.reason, "no balloon device");
}

TEST(AckTrackerTest, ALiarIsCaughtByTheHostsOwnAccounting) {
  TrackerRun run;
  run.atWithRss(0, 2048, 2048);
  run.push(1024);
  EXPECT_EQ(run.atWithRss(1, 1024, 2048).state, AckState::kSettled);  // claims it is done
  for (int t = 2; t < 6; ++t) {
    run.atWithRss(t, 1024, 2048);
  }
  const AckVerdict v = run.atWithRss(6, 1024, 2048);
  EXPECT_EQ(v.state, AckState::kUncooperative);
  EXPECT_EQ(v.reason, "claims 1024 MiB but the host sees 2048 MiB resident");
  EXPECT_TRUE(v.shrink_blocked);
}

TEST(AckTrackerTest, ExcludedWins) {
  TrackerRun run;
  const AckVerdict v = run.tracker().observe(run.vm(), mibToKib(2048), true, 1);
  EXPECT_EQ(v.state, AckState::kExcluded);
  EXPECT_EQ(v.reason, "excluded by configuration");
}

}  // namespace
}  // namespace balloond
