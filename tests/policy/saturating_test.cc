// SPDX-License-Identifier: Apache-2.0
#include "policy/saturating.h"

#include <gtest/gtest.h>

#include <vector>

namespace balloond::policy {
namespace {

TEST(SaturatingTest, AddClampsAtBothEnds) {
  EXPECT_EQ(satAdd(2, 3), 5);
  EXPECT_EQ(satAdd(kInt64Max, 1), kInt64Max);
  EXPECT_EQ(satAdd(kInt64Max, kInt64Max), kInt64Max);
  EXPECT_EQ(satAdd(kInt64Min, -1), kInt64Min);
  EXPECT_EQ(satAdd(kInt64Max, kInt64Min), -1);
}

TEST(SaturatingTest, SubClampsAtBothEnds) {
  EXPECT_EQ(satSub(5, 3), 2);
  EXPECT_EQ(satSub(kInt64Max, -1), kInt64Max);
  EXPECT_EQ(satSub(kInt64Min, 1), kInt64Min);
  EXPECT_EQ(satSub(0, kInt64Min), kInt64Max);
  EXPECT_EQ(satSub(-5, kInt64Max), kInt64Min);
}

TEST(SaturatingTest, MulClampsWithTheSignOfTheResult) {
  EXPECT_EQ(satMul(4, 1024), 4096);
  EXPECT_EQ(satMul(kInt64Max, 2), kInt64Max);
  EXPECT_EQ(satMul(kInt64Max, -2), kInt64Min);
  EXPECT_EQ(satMul(kInt64Min, -1), kInt64Max);
  EXPECT_EQ(satMul(-kInt64Max, 2), kInt64Min);
}

TEST(SaturatingTest, SumSaturates) {
  EXPECT_EQ(satSum(std::vector<int64_t>{1, 2, 3}), 6);
  EXPECT_EQ(satSum(std::vector<int64_t>{kInt64Max, kInt64Max, -5}), kInt64Max - 5);
  EXPECT_EQ(satSum(std::vector<int64_t>{}), 0);
}

}  // namespace
}  // namespace balloond::policy
