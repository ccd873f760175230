// SPDX-License-Identifier: Apache-2.0
#include "policy/signals.h"

#include <gtest/gtest.h>

#include <limits>

namespace balloond::policy {
namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

VmSample reporting(int64_t faults, int64_t swap_in_kib, double at_s) {
  VmSample s;
  s.name = "vm";
  s.max_kib = s.actual_kib = mibToKib(1024);
  s.guest.major_faults = faults;
  s.guest.swap_in_kib = swap_in_kib;
  s.guest.last_update_s = at_s;
  return s;
}

TEST(SignalsTest, RatesFromTwoReports) {
  VmPolicyState h;
  EXPECT_EQ(observeCounters(h, reporting(100, 0, 10)), 0);  // the first: a baseline
  EXPECT_EQ(observeCounters(h, reporting(300, 4096, 12)), 2);
  EXPECT_DOUBLE_EQ(h.major_faults_per_s, 100);
  EXPECT_DOUBLE_EQ(h.swap_in_kib_per_s, 2048);
  EXPECT_DOUBLE_EQ(refaultKibPerS(h), 100 * 4 + 2048);
  EXPECT_EQ(observeCounters(h, reporting(300, 4096, 12)), 0);  // seen already
}

TEST(SignalsTest, ACounterGoingBackwardsRestartsTheRateAtZero) {
  VmPolicyState h;
  observeCounters(h, reporting(1000, 1000, 10));
  observeCounters(h, reporting(5, 0, 11));
  EXPECT_EQ(h.major_faults_per_s, 0);
  EXPECT_EQ(h.swap_in_kib_per_s, 0);
}

// A negative counter in the history (a restored or hostile value) against an INT64_MAX report:
// the difference saturates instead of overflowing (UBSan aborted here).
TEST(SignalsTest, HugeAndNegativeCountersDoNotOverflow) {
  VmPolicyState h;
  h.counters_s = 10;
  h.major_faults = -5;
  h.swap_in_kib = std::numeric_limits<int64_t>::min();
  EXPECT_EQ(observeCounters(h, reporting(kMax, kMax, 11)), 1);
  EXPECT_EQ(h.major_faults_per_s, static_cast<double>(kMax));
  EXPECT_EQ(h.swap_in_kib_per_s, static_cast<double>(kMax));
}

TEST(SignalsTest, AvailableIsClampedToActual) {
  VmSample s = reporting(0, 0, 1);
  s.guest.available_kib = kMax;
  EXPECT_EQ(availableKib(s), s.actual_kib);
  EXPECT_EQ(usedKib(s), 0);
  s.guest.available_kib.reset();
  EXPECT_EQ(availableKib(s), std::nullopt);
  EXPECT_EQ(usedKib(s), s.actual_kib);
}

}  // namespace
}  // namespace balloond::policy
