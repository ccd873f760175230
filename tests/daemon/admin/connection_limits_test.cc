// SPDX-License-Identifier: Apache-2.0
#include "daemon/admin/connection_limits.h"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

namespace balloond {
namespace {

using namespace std::chrono_literals;

TEST(ConnectionGate, HoldsEachUserToItsShareAndTheTotalButNotRoot) {
  ConnectionGate gate(3, 2, 1);
  EXPECT_TRUE(gate.admit(1000).ok());
  EXPECT_TRUE(gate.admit(1000).ok());
  auto third = gate.admit(1000);
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.error().message,
            "too many connections from uid 1000: 2 open (at most 2 per user)");
  EXPECT_TRUE(gate.admit(1001).ok());
  auto full = gate.admit(1002);
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.error().message, "too many connections: 3 open (at most 3)");
  EXPECT_TRUE(gate.admit(0).ok());  // root's own slot
  EXPECT_FALSE(gate.admit(0).ok());
  EXPECT_EQ(gate.open(), 4);
  gate.release(1000);
  EXPECT_TRUE(gate.admit(1002).ok());
  gate.release(0);
  EXPECT_TRUE(gate.admit(0).ok());
  EXPECT_EQ(gate.open(), 4);
}

TEST(ConnectionGate, RootMayUseAFreeSlotToo) {
  ConnectionGate gate(2, 2, 1);
  EXPECT_TRUE(gate.admit(0).ok());
  EXPECT_TRUE(gate.admit(0).ok());
  EXPECT_TRUE(gate.admit(0).ok());
  EXPECT_FALSE(gate.admit(0).ok());
}

TEST(RefusalLog, LogsTheFirstAtOnceThenOncePerIntervalWithACount) {
  spdlog::set_level(spdlog::level::off);
  RefusalLog log("control-connection-refused", 10s);
  const auto t0 = RefusalLog::Clock::time_point{} + 1000s;
  EXPECT_EQ(log.refused("uid=1000", t0), "control-connection-refused uid=1000 refused=1");
  for (int i = 1; i < 500; ++i) {
    EXPECT_EQ(log.refused("uid=1000", t0 + std::chrono::milliseconds(i)), std::nullopt);
  }
  EXPECT_EQ(log.refused("uid=1001", t0 + 10s), "control-connection-refused uid=1001 refused=500");
}

TEST(DescriptorBudget, CoversEveryConnectionAndTheReserve) {
  const ConnectionLimits limits;
  EXPECT_EQ(descriptorsNeeded(limits), limits.control_total + limits.control_root +
                                           limits.metrics_total + 4 + kDescriptorReserve);
}

TEST(DescriptorBudget, RaisesTheSoftLimitOrRefusesBelowTheHardOne) {
  rlimit saved{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &saved), 0);
  const ConnectionLimits limits;
  const auto needed = static_cast<rlim_t>(descriptorsNeeded(limits));
  if (saved.rlim_max != RLIM_INFINITY && saved.rlim_max < needed) {
    GTEST_SKIP() << "hard limit below the budget";
  }
  rlimit low = saved;
  low.rlim_cur = 64;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  EXPECT_TRUE(ensureDescriptorBudget(limits).ok());
  rlimit now{};
  getrlimit(RLIMIT_NOFILE, &now);
  EXPECT_EQ(now.rlim_cur, needed);

  const ConnectionLimits huge{
      .control_total = 1 << 30, .control_per_uid = 8, .control_root = 8, .metrics_total = 16};
  if (saved.rlim_max != RLIM_INFINITY) {
    auto refused = ensureDescriptorBudget(huge);
    ASSERT_FALSE(refused.ok());
    EXPECT_NE(refused.error().message.find("LimitNOFILE="), std::string::npos);
  }
  setrlimit(RLIMIT_NOFILE, &saved);
}

}  // namespace
}  // namespace balloond
