// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <unordered_map>
#include <vector>

#include "policy/per_vm_memory.h"
#include "policy/policy.h"

namespace balloond::policy {

// A port of oVirt MOM's default balloon rules (mom/doc/balloon.rules), for operators migrating
// from MOM. Host free = (MemFree + Buffers + Cached) / MemTotal, averaged over the last
// `sample_history_length` ticks. Under `pressure_threshold` every guest is shrunk toward what it
// uses plus an allowance that scales with host free memory (negative under `pressure_critical`: MOM
// forces guests to swap), at most `max_balloon_change_percent` of its size per tick; otherwise
// every ballooned guest grows by `max_balloon_change_percent` per tick, or at once to what it uses
// plus `min_guest_free_percent`, up to its max. Changes under `min_balloon_change_percent` of the
// guest's size are skipped. The field mapping from MOM is in policy/README.md; parameters keep
// MOM's names.
class MomPolicy : public Policy {
 public:
  struct Params {
    double pressure_threshold = 0.20;  // host free fraction under which guests are shrunk
    double pressure_critical = 0.05;   // host free fraction at or under which it is critical
    double critical_offset = 0.05;     // critical: guest allowance = host free - this
    double min_guest_free = 0.20;      // free fraction of its size an unconstrained guest keeps
    double max_change = 0.05;          // most a guest's size changes per tick (fraction)
    double min_change = 0.0025;        // smaller changes (fraction of size) are skipped
    int sample_window = 10;            // samples averaged (StatAvg)
  };
  explicit MomPolicy(Params p) : p_(p) {}

  std::vector<Decision> decide(const PolicyInput& input, PolicyState& state) override;
  // {"host_free_history": [fractions], "vms": {name: {"actual_window_kib": [...],
  // "unused_window_kib": [...]}}}, newest last.
  nlohmann::json saveMemory() const override;
  Status loadMemory(const nlohmann::json& memory) override;

 private:
  // The last `size` samples of one statistic, a ring: once full, a new sample overwrites the
  // oldest in place (no shifting, no allocation after the first `size` ticks).
  struct Window {
    std::vector<int64_t> values;
    std::size_t oldest = 0;  // where the oldest sample is, once the ring is full
    void push(int64_t value, std::size_t size);
    [[nodiscard]] double average() const;
    [[nodiscard]] std::vector<int64_t> oldestFirst() const;
  };
  // One VM's last samples of balloon_cur (actual) and mem_unused.
  struct VmWindows {
    Window actual_kib;
    Window unused_kib;
  };
  // What MOM's StatAvg remembers between ticks.
  struct Memory {
    std::deque<double> host_free;  // host free fractions, newest last
    PerVmMemory<VmWindows> vms;
  };

  Params p_;
  Memory memory_;
};

}  // namespace balloond::policy
