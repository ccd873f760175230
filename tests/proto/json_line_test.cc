// SPDX-License-Identifier: Apache-2.0
#include "proto/json_line.h"

#include <gtest/gtest.h>

#include <string>

namespace balloond {
namespace {

TEST(JsonLineTest, CountsNestingOutsideStringsOnly) {
  EXPECT_FALSE(nestsDeeperThan("[[[]]]", 3));
  EXPECT_TRUE(nestsDeeperThan("[[[[]]]]", 3));
  EXPECT_FALSE(nestsDeeperThan(R"(["[[[[[[", "\"[[[["])", 1));
  EXPECT_TRUE(nestsDeeperThan(std::string(10000, '{'), 32));
}

TEST(JsonLineTest, OneDocumentFillingTheLineOrNothing) {
  EXPECT_EQ(parseJsonLine(R"({"a": 1})")["a"], 1);
  EXPECT_TRUE(parseJsonLine("{} {}").is_discarded());
  EXPECT_TRUE(parseJsonLine(std::string("{}\0garbage", 10)).is_discarded());
  EXPECT_TRUE(parseJsonLine("{\"a\": \"\xff\"}").is_discarded());
  EXPECT_TRUE(parseJsonLine("").is_discarded());
}

}  // namespace
}  // namespace balloond
