// SPDX-License-Identifier: Apache-2.0
#include "config/range.h"

#include <array>
#include <charconv>

namespace balloond::config {

std::optional<std::string> Range::check(double v) const {
  if (v <= max && (above_min ? v > min : v >= min)) {
    return std::nullopt;
  }
  return (above_min ? "must be above " + formatNumber(min) + " and at most "
                    : "must be between " + formatNumber(min) + " and ") +
         formatNumber(max) + ", got " + formatNumber(v);
}

std::string Range::text() const {
  return above_min ? "above " + formatNumber(min) + ", at most " + formatNumber(max)
                   : formatNumber(min) + " to " + formatNumber(max);
}

std::string formatNumber(double v) {
  std::array<char, 32> buf{};
  auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  return {buf.data(), end};
}

}  // namespace balloond::config
