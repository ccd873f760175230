// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

namespace balloond::policy {

// Integer arithmetic on guest-reported numbers that cannot overflow: each result is clamped to
// the int64 range instead of wrapping (a guest can report any size; validation keeps absurd ones
// from a policy, but the arithmetic stays defined whatever it is given).

constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();
constexpr int64_t kInt64Min = std::numeric_limits<int64_t>::min();

constexpr int64_t satAdd(int64_t a, int64_t b) {
  int64_t out = 0;
  if (__builtin_add_overflow(a, b, &out)) {
    return b > 0 ? kInt64Max : kInt64Min;
  }
  return out;
}

constexpr int64_t satSub(int64_t a, int64_t b) {
  int64_t out = 0;
  if (__builtin_sub_overflow(a, b, &out)) {
    return b < 0 ? kInt64Max : kInt64Min;
  }
  return out;
}

constexpr int64_t satMul(int64_t a, int64_t b) {
  int64_t out = 0;
  if (__builtin_mul_overflow(a, b, &out)) {
    return (a < 0) == (b < 0) ? kInt64Max : kInt64Min;
  }
  return out;
}

// A double rounded to the nearest int64, clamped to the int64 range (NaN gives 0): for sizes
// computed in floating point from guest-reported numbers.
inline int64_t satRound(double v) {
  if (std::isnan(v)) {
    return 0;
  }
  if (v >= 9.2e18) {  // just under 2^63: the largest doubles below it convert exactly
    return kInt64Max;
  }
  if (v <= -9.2e18) {
    return kInt64Min;
  }
  return static_cast<int64_t>(v < 0 ? v - 0.5 : v + 0.5);
}

// The sum of a range of int64 values, saturated.
template <typename Range>
constexpr int64_t satSum(const Range& values) {
  int64_t sum = 0;
  for (const auto v : values) {
    sum = satAdd(sum, static_cast<int64_t>(v));
  }
  return sum;
}

}  // namespace balloond::policy
