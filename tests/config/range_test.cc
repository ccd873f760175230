// SPDX-License-Identifier: Apache-2.0
#include "config/range.h"

#include <gtest/gtest.h>

namespace balloond::config {
namespace {

TEST(RangeTest, ChecksInclusiveAndExclusiveBounds) {
  constexpr Range kInclusive{0.05, 60};
  EXPECT_FALSE(kInclusive.check(0.05));
  EXPECT_FALSE(kInclusive.check(60));
  EXPECT_EQ(kInclusive.check(0), "must be between 0.05 and 60, got 0");
  constexpr Range kAbove{0, kMaxMib, true};
  EXPECT_FALSE(kAbove.check(1));
  EXPECT_EQ(kAbove.check(0), "must be above 0 and at most 16777216, got 0");
  EXPECT_EQ(kAbove.check(1e20), "must be above 0 and at most 16777216, got 1e+20");
}

TEST(RangeTest, DescribesItself) {
  EXPECT_EQ((Range{0.05, 60}.text()), "0.05 to 60");
  EXPECT_EQ((Range{0, 1, true}.text()), "above 0, at most 1");
  EXPECT_EQ(formatNumber(16777216), "16777216");
  EXPECT_EQ(formatNumber(0.25), "0.25");
}

}  // namespace
}  // namespace balloond::config
