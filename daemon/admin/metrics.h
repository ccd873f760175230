// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "daemon/controller.h"

namespace balloond {

// A Prometheus histogram: cumulative buckets with fixed upper bounds, a sum and a count.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double value);
  // The text exposition lines for metric `name` (no HELP/TYPE).
  [[nodiscard]] std::string render(std::string_view name) const;
  [[nodiscard]] int64_t count() const { return count_; }

 private:
  std::vector<double> bounds_;
  std::vector<int64_t> counts_;  // per bucket, not cumulative
  double sum_ = 0;
  int64_t count_ = 0;
};

// The daemon's Prometheus metrics. The daemon calls observeTick() after every tick; render()
// writes the text exposition format for the metrics listener. Acknowledgement latency is the
// time from a pushed target to the tick where the VM is first seen settled on it.
class Metrics {
 public:
  Metrics();
  void observeTick(double duration_s, const TickReport& report, const Controller& controller);
  void countError(const std::string& kind, int64_t n = 1);
  [[nodiscard]] std::string render(const Controller& controller) const;

 private:
  Histogram tick_duration_;
  Histogram ack_latency_;
  std::map<std::string, int64_t> errors_;
  std::map<std::string, double> pending_acks_;  // VM -> when its last target was pushed
  // (VM, problem kind) -> samples whose guest stats failed the check
  std::map<std::pair<std::string, std::string>, int64_t> invalid_samples_;
  int64_t ticks_ = 0;
  int64_t target_changes_ = 0;
};

// Escapes a label value: backslash, double quote and newline.
std::string escapeLabel(std::string_view value);

}  // namespace balloond
