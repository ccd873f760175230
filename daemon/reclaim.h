// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "policy/guards.h"
#include "policy/policy.h"
#include "policy/reclaim_plan.h"

namespace balloond {

// Where an admin reclaim stands, as the control socket and scenarios report it.
struct ReclaimStatus {
  enum class Outcome { kInProgress, kSuccess, kCannotFree, kRefused };
  uint64_t id = 0;
  int64_t requested_kib = 0;
  int64_t freed_kib = 0;
  double started_s = 0;
  double finished_s = -1;
  Outcome outcome = Outcome::kInProgress;
  std::map<std::string, int64_t> plan_kib;  // donor -> what it is asked to give, in force now
  std::vector<std::string> refused_by;      // donors that did not cooperate
  std::string text;                         // one line for operators
};

std::string_view toString(ReclaimStatus::Outcome outcome);

// One admin request to free host memory now, for example to start a new VM. It plans within
// every floor, says cannot-free at once when floors forbid it, drives the donors with urgent
// targets, re-plans around donors that get stuck, and ends in success or refused. The freed
// memory counts by the host's own view (QEMU RSS where the channel has it), so a lying guest's
// claims are not counted, and a donor is never asked for more than its share below where it
// started; a donor whose claimed progress the host does not see is given no more in a re-plan.
// Owned by the controller, which calls update() every tick.
class ReclaimRun {
 public:
  // How long a reclaim may take before the donors that fell short are named as refusing.
  static constexpr double kTimeoutS = 60;

  ReclaimRun(uint64_t id, int64_t need_kib, const std::vector<policy::VmView>& views,
             const policy::Guards& guards, double now_s);

  // Measures progress, re-plans around failed donors, decides the outcome, and returns the
  // donors' urgent targets for this tick (none once the run has ended).
  std::vector<policy::Decision> update(const std::vector<policy::VmView>& views,
                                       const policy::Guards& guards, double now_s);

  const ReclaimStatus& status() const { return status_; }
  bool active() const { return status_.outcome == ReclaimStatus::Outcome::kInProgress; }

 private:
  void adopt(const policy::ReclaimPlan& plan, const std::vector<policy::VmView>& views);
  // How much of what the donor claims to have given since its start the host has not seen go.
  int64_t unverifiedKib(const std::string& vm, const VmSample& s);
  void finish(ReclaimStatus::Outcome outcome, std::string text, double now_s);

  ReclaimStatus status_;
  std::map<std::string, int64_t> start_kib_;     // each donor's host-visible size at its start
  std::map<std::string, int64_t> start_actual_;  // and its balloon actual, as the guest says
};

}  // namespace balloond
