// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <optional>
#include <string>

namespace balloond::config {

constexpr double kMaxMib = 16777216;      // 16 TiB
constexpr double kMaxSeconds = 31536000;  // one year

// The valid values of a numeric key: min to max, or above min (exclusive) to max.
struct Range {
  double min = 0;
  double max = 0;
  bool above_min = false;

  // What is wrong with `v` ("must be between 0 and 60, got 61"), or nothing when it is valid.
  std::optional<std::string> check(double v) const;
  // "0.05 to 60" or "above 0, at most 16777216", for the key table.
  std::string text() const;
};

// Shortest text that reads back as the same number: 16777216, 0.05, 1e+20.
std::string formatNumber(double v);

}  // namespace balloond::config
