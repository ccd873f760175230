// SPDX-License-Identifier: Apache-2.0
#include "daemon/runtime_override.h"

#include <gtest/gtest.h>

namespace balloond {
namespace {

constexpr int64_t kMax = 4096;

policy::VmLimits configured() {
  return policy::VmLimits{.floor_kib = 512, .ceiling_kib = 3072, .excluded = false, .shares = 1000};
}

TEST(RuntimeOverrideTest, NoOverrideKeepsTheConfiguredLimits) {
  const auto l = applyRuntimeOverride(configured(), {}, kMax);
  EXPECT_EQ(l.floor_kib, 512);
  EXPECT_EQ(l.ceiling_kib, 3072);
  EXPECT_FALSE(l.excluded);
}

TEST(RuntimeOverrideTest, APinIsFloorAndCeilingAndWinsOverBoth) {
  control::VmOverride o;
  o.floor_kib = 100;
  o.ceiling_kib = 200;
  o.pin_kib = 1024;
  const auto l = applyRuntimeOverride(configured(), o, kMax);
  EXPECT_EQ(l.floor_kib, 1024);
  EXPECT_EQ(l.ceiling_kib, 1024);
}

TEST(RuntimeOverrideTest, StaysWithinZeroToMaxWithFloorAtMostCeiling) {
  control::VmOverride o;
  o.ceiling_kib = 10000;  // above the VM's max
  o.floor_kib = 8000;
  auto l = applyRuntimeOverride(configured(), o, kMax);
  EXPECT_EQ(l.ceiling_kib, kMax);
  EXPECT_EQ(l.floor_kib, kMax);
  control::VmOverride low;
  low.ceiling_kib = 256;  // below the configured floor: the floor follows it down
  l = applyRuntimeOverride(configured(), low, kMax);
  EXPECT_EQ(l.ceiling_kib, 256);
  EXPECT_EQ(l.floor_kib, 256);
}

TEST(RuntimeOverrideTest, ExcludeAndIncludeReplaceTheConfig) {
  control::VmOverride exclude;
  exclude.excluded = true;
  EXPECT_TRUE(applyRuntimeOverride(configured(), exclude, kMax).excluded);
  auto excluded_by_config = configured();
  excluded_by_config.excluded = true;
  control::VmOverride include;
  include.excluded = false;
  EXPECT_FALSE(applyRuntimeOverride(excluded_by_config, include, kMax).excluded);
}

}  // namespace
}  // namespace balloond
