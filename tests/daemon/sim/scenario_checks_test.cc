// SPDX-License-Identifier: Apache-2.0
#include "daemon/sim/scenario_checks.h"

#include <gtest/gtest.h>

#include "config/scenario.h"

namespace balloond {
namespace {

// One VM of 2048 MiB at 1024 with floor 512, need floor 600 and ceiling 1536, on a host with
// 2048 MiB available and a 1024 MiB reserve. Each case spoils one thing.
struct Fixture {
  Fixture() {
    snapshot.host.total_kib = mibToKib(8192);
    snapshot.host.available_kib = mibToKib(2048);
    VmStatus s;
    s.name = "vm";
    s.max_kib = mibToKib(2048);
    s.actual_kib = s.target_kib = mibToKib(1024);
    s.floor_kib = mibToKib(512);
    s.effective_floor_kib = mibToKib(600);
    s.ceiling_kib = mibToKib(1536);
    vms.push_back(s);
  }
  std::optional<Violation> check(const std::string& name) {
    return checkInvariant(name, InvariantInput{snapshot, vms, mibToKib(1024), oom});
  }
  Snapshot snapshot;
  std::vector<VmStatus> vms;
  std::set<std::string> oom;
};

TEST(ScenarioChecksTest, EveryInvariantHoldsOnAHealthyHost) {
  Fixture f;
  for (const auto& name : config::knownInvariants()) {
    EXPECT_FALSE(f.check(name).has_value()) << name;
  }
}

TEST(ScenarioChecksTest, EveryInvariantCanBreak) {
  struct Case {
    const char* name;
    void (*spoil)(Fixture&);
    const char* detail;
  };
  const Case cases[] = {
      {"no_target_below_floor", [](Fixture& f) { f.vms[0].target_kib = mibToKib(500); },
       "vm target 500.0 MiB is below its floor 512.0 MiB"},
      {"no_target_above_ceiling", [](Fixture& f) { f.vms[0].target_kib = mibToKib(1600); },
       "vm target 1600.0 MiB is above its ceiling 1536.0 MiB"},
      {"host_free_never_below_reserve",
       [](Fixture& f) { f.snapshot.host.available_kib = mibToKib(1000); },
       "host available 1000 MiB is below the reserve 1024 MiB"},
      {"free_before_allocate", [](Fixture& f) { f.vms[0].target_kib = mibToKib(2100); },
       "targets would grow VMs by 1076 MiB beyond their needs with only 1024 MiB free above the "
       "reserve"},
      {"no_oom", [](Fixture& f) { f.oom.insert("vm"); }, "OOM kills in vm"},
  };
  for (const auto& c : cases) {
    Fixture f;
    c.spoil(f);
    auto v = f.check(c.name);
    ASSERT_TRUE(v.has_value()) << c.name;
    EXPECT_EQ(v->detail, c.detail) << c.name;
  }
}

TEST(ScenarioChecksTest, GrowthUpToWhatTheGuestNeedsIsNotAllocation) {
  Fixture f;
  f.vms[0].effective_floor_kib = mibToKib(3000);
  f.vms[0].target_kib = mibToKib(3000);
  f.snapshot.host.available_kib = mibToKib(1024);
  EXPECT_FALSE(f.check("free_before_allocate").has_value());
}

}  // namespace
}  // namespace balloond
