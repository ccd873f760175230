// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>

#include "proto/types.h"

namespace balloond {

// Slack on comparisons between a guest's numbers: QEMU reports bytes and libvirt KiB, so each
// side may be rounded once. Same-report comparisons (available <= total) are exact in Linux.
constexpr int64_t kStatsSlackKib = kKibPerMib;
// How far a report's host timestamp may run ahead of the snapshot's clock (both are the host's
// clock on libvirt; a little skew between the reads is normal).
constexpr double kStatsClockSkewS = 5;
// How long actuals are remembered for the "<= actual" checks: a report is compared with the
// highest actual since it was taken, as it may predate an inflate that has already lowered actual
// (a 2 GiB guest inflates to 256 MiB in about 2 s). A report older than this is not compared.
constexpr double kRecentActualS = 60;

// What is wrong with one sample: `kind` names the problem for the metric and the once-per-kind
// log ("available-above-total"); `detail` says it for operators ("available > total").
struct SampleFault {
  std::string kind;
  std::string detail;
};

// Checks one sample's guest stats against each other and against the sizes the hypervisor
// reports. `recent_actual_kib` is the highest actual seen while the report could have been taken
// since the report was taken (at least the sample's own; INT64_MAX: unknown, not compared). Pure.
// Consistency, as Linux and QEMU define the numbers: available, unused (MemFree) <= actual: free
// pages are inside what the guest has; available, caches <= total (MemTotal); total <= max; actual
// <= max. Not total <= actual: with deflate-on-oom the guest's MemTotal stays at its boot size
// while the balloon inflates.
std::optional<SampleFault> checkSample(const VmSample& vm, int64_t recent_actual_kib, double now_s);

// The sample with its guest stats withheld: what the ack tracker and the policy see in place of
// numbers that failed. The report's time stays (capped at now) so the guest is not mistaken for
// one without a driver.
GuestStats withheldStats(const GuestStats& g, double now_s);

// The sample check with the per-VM memory it needs: the recent actuals, the counters of the last
// accepted report (a counter going backwards is a guest reboot: accepted as a new baseline), and
// which problems were already logged (each kind once per VM, and again when it recovers).
class SampleChecker {
 public:
  // Checks a VM's sample at `now_s`; on a fault, logs it the first time that kind is seen.
  std::optional<SampleFault> check(const VmSample& vm, double now_s);
  // The VM is gone.
  void forget(const std::string& vm) { seen_.erase(vm); }

 private:
  // What is remembered of one VM.
  struct Seen {
    std::deque<std::pair<double, int64_t>> actuals;  // (time, actual), oldest first
    std::optional<GuestStats> counters;              // the last accepted report's counters
    std::set<std::string> logged;                    // problem kinds logged and not recovered
  };
  std::unordered_map<std::string, Seen> seen_;
};

}  // namespace balloond
