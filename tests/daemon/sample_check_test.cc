// SPDX-License-Identifier: Apache-2.0
#include "daemon/sample_check.h"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <cmath>
#include <limits>

namespace balloond {
namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

// A real guest's numbers: MemTotal about 64 MiB below actual.
VmSample guest(double now_s = 100) {
  VmSample vm;
  vm.name = "vm";
  vm.max_kib = mibToKib(2048);
  vm.actual_kib = mibToKib(2048);
  vm.guest.total_kib = mibToKib(1984);
  vm.guest.available_kib = mibToKib(1500);
  vm.guest.usable_kib = mibToKib(1500);
  vm.guest.unused_kib = mibToKib(1200);
  vm.guest.disk_caches_kib = mibToKib(200);
  vm.guest.major_faults = 1000;
  vm.guest.minor_faults = 100000;
  vm.guest.swap_in_kib = 0;
  vm.guest.swap_out_kib = 0;
  vm.guest.last_update_s = now_s - 0.5;
  return vm;
}

std::string kindOf(const VmSample& vm, double now_s = 100) {
  auto fault = checkSample(vm, vm.actual_kib, now_s);
  return fault ? fault->kind : "ok";
}

TEST(SampleCheckTest, NamesTheFirstInconsistency) {
  struct Case {
    const char* what;
    void (*edit)(VmSample&);
    const char* kind;
  };
  const Case cases[] = {
      {"a real guest", [](VmSample&) {}, "ok"},
      {"never reported", [](VmSample& v) { v.guest = {}; }, "ok"},
      {"within the slack", [](VmSample& v) { v.guest.available_kib = mibToKib(1984) + 1000; },
       "ok"},
      {"available above actual", [](VmSample& v) { v.actual_kib = mibToKib(512); },
       "available-above-actual"},
      {"deflate-on-oom, consistent",
       [](VmSample& v) {
         v.actual_kib = mibToKib(512);
         v.guest.available_kib = v.guest.usable_kib = mibToKib(300);
         v.guest.unused_kib = mibToKib(200);
       },
       "ok"},
      {"available above total", [](VmSample& v) { v.guest.total_kib = mibToKib(1000); },
       "available-above-total"},
      {"available at INT64_MAX", [](VmSample& v) { v.guest.available_kib = kMax; },
       "available-above-total"},
      {"unused above actual", [](VmSample& v) { v.guest.unused_kib = mibToKib(4000); },
       "unused-above-actual"},
      {"caches above total", [](VmSample& v) { v.guest.disk_caches_kib = mibToKib(3000); },
       "caches-above-total"},
      {"total above max", [](VmSample& v) { v.guest.total_kib = kMax; }, "total-above-max"},
      {"actual above max", [](VmSample& v) { v.actual_kib = mibToKib(4096); }, "actual-above-max"},
      {"negative counter", [](VmSample& v) { v.guest.major_faults = -1; }, "negative"},
      {"negative available", [](VmSample& v) { v.guest.available_kib = -5; }, "negative"},
      {"1e6 s in the future", [](VmSample& v) { v.guest.last_update_s = 100 + 1e6; },
       "future-timestamp"},
      {"1e300", [](VmSample& v) { v.guest.last_update_s = 1e300; }, "future-timestamp"},
      {"within the skew", [](VmSample& v) { v.guest.last_update_s = 100 + kStatsClockSkewS; },
       "ok"},
      {"not a number", [](VmSample& v) { v.guest.last_update_s = std::nan(""); }, "bad-timestamp"},
  };
  for (const auto& c : cases) {
    VmSample vm = guest();
    c.edit(vm);
    EXPECT_EQ(kindOf(vm), c.kind) << c.what;
  }
}

TEST(SampleCheckTest, WithheldStatsKeepOnlyASaneReportTime) {
  VmSample vm = guest();
  GuestStats w = withheldStats(vm.guest, 100);
  EXPECT_FALSE(w.available_kib || w.unused_kib || w.total_kib || w.major_faults);
  EXPECT_EQ(w.last_update_s, 99.5);
  GuestStats g;
  g.last_update_s = 1e300;
  EXPECT_EQ(withheldStats(g, 100).last_update_s, 100);
  g.last_update_s = std::nan("");
  EXPECT_EQ(withheldStats(g, 100).last_update_s, 0);
}

// An inflate lowers actual before the guest's next report: the report is compared with the
// highest actual of the last seconds, so a real shrinking guest is not flagged.
TEST(SampleCheckTest, AReportFromBeforeAnInflateIsNotFlagged) {
  spdlog::set_level(spdlog::level::off);
  SampleChecker checker;
  VmSample vm = guest(100);
  EXPECT_FALSE(checker.check(vm, 100));
  vm.actual_kib = mibToKib(1024);  // inflated; the report still shows 1500 MiB available
  EXPECT_FALSE(checker.check(vm, 101));
  // A frozen report (stale, judged by its age) is not called inconsistent while actual falls.
  VmSample frozen = guest(100);
  SampleChecker other;
  for (double t = 100; t < 130; t += 1) {
    frozen.actual_kib = mibToKib(2048 - 40 * (t - 100));
    EXPECT_FALSE(other.check(frozen, t)) << t;
  }
  // Long after, the same numbers are a lie.
  const double later = 102 + kRecentActualS;
  vm.guest.last_update_s = later - 0.5;
  auto fault = checker.check(vm, later);
  ASSERT_TRUE(fault);
  EXPECT_EQ(fault->kind, "available-above-actual");
}

// A guest reboot resets its counters: accepted as a new baseline, not a fault.
TEST(SampleCheckTest, CountersGoingBackwardsAreAReset) {
  spdlog::set_level(spdlog::level::off);
  SampleChecker checker;
  VmSample vm = guest(100);
  EXPECT_FALSE(checker.check(vm, 100));
  vm.guest.major_faults = 3;
  vm.guest.minor_faults = 10;
  vm.guest.last_update_s = 101;
  EXPECT_FALSE(checker.check(vm, 101));
  vm.guest.major_faults = 5;
  EXPECT_FALSE(checker.check(vm, 102));
}

}  // namespace
}  // namespace balloond
