// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "policy/guards.h"
#include "policy/policy.h"
#include "tests/policy/test_views.h"

namespace balloond::policy::testing {

// The guard settings of a default config (config/spec.h GuardSpec), in KiB.
inline Guards defaultConfigGuards() {
  return Guards{.inflate_step_kib = mibToKib(128),
                .inflate_step_fraction = 0.25,
                .emergency_step_factor = 4,
                .deflate_step_kib = mibToKib(1024),
                .min_change_kib = mibToKib(8),
                .need_margin_kib = mibToKib(64),
                .grow_holdoff_s = 30,
                .host_reserve_kib = mibToKib(1024)};
}

// One guest played tick by tick against a policy and the guards, as the controller plays it: a
// decision that changes the target in force is a push (a grow starts the hold-off), the balloon
// moves toward the target in force at a fixed rate, and the guest reports fresh stats and no
// refaults every tick. For tests of what a policy does over time. Sizes in MiB.
class TickedGuest {
 public:
  // One push: when, from and to which target, why, and the guest's actual size then.
  struct Push {
    double now_s;
    double from_mib, to_mib;
    std::string reason;
    double actual_mib;
  };

  TickedGuest(Policy& policy, Guards guards, double max_mib, double actual_mib, double rate_mib_s)
      : policy_(policy),
        guards_(guards),
        max_mib_(max_mib),
        actual_mib_(actual_mib),
        target_kib_(mibToKib(actual_mib)),
        rate_mib_s_(rate_mib_s) {}

  // The tick at `now_s`, with the guest using `used_mib`: the balloon first moves for the time
  // since the last tick, then the policy and the guards decide.
  void tick(double now_s, double used_mib) {
    const double target = mib(target_kib_);
    const double step = rate_mib_s_ * (now_s - now_s_);
    actual_mib_ = actual_mib_ < target ? std::min(target, actual_mib_ + step)
                                       : std::max(target, actual_mib_ - step);
    now_s_ = now_s;
    const bool reached = std::abs(target - actual_mib_) <= 1;  // the tracker's 1 MiB tolerance
    InputBuilder b;
    b.now(now_s).host(65536, 32768);
    b.vm("vm", max_mib_, actual_mib_, std::max(0.0, actual_mib_ - used_mib), 0, target);
    b.counters(0, 0, now_s).ack(reached ? AckState::kSettled : AckState::kConverging);
    const PolicyInput& input = b.build();
    // Built from MiB like the view, so an unchanged target compares equal.
    const auto out = applyGuards(input, policy_.decide(input, state_), guards_, state_);
    if (out.empty() || out[0].target_kib == target_kib_) {
      return;
    }
    pushes_.push_back(
        {now_s, target, mib(out[0].target_kib), std::string(out[0].reason), actual_mib_});
    VmPolicyState& h = state_.vms["vm"];
    (out[0].target_kib > target_kib_ ? h.last_grow_s : h.last_shrink_s) = now_s;
    h.last_target_kib = out[0].target_kib;
    target_kib_ = out[0].target_kib;
  }

  // Ticks once a second for `seconds`, the guest using `used_mib` throughout.
  void run(int seconds, double used_mib) {
    for (int i = 0; i < seconds; ++i) {
      tick(now_s_ + 1, used_mib);
    }
  }

  const std::vector<Push>& pushes() const { return pushes_; }
  double targetMib() const { return mib(target_kib_); }
  double actualMib() const { return actual_mib_; }

 private:
  Policy& policy_;
  Guards guards_;
  PolicyState state_;
  double max_mib_;
  double actual_mib_;
  int64_t target_kib_;
  double rate_mib_s_;
  double now_s_ = 0;
  std::vector<Push> pushes_;
};

}  // namespace balloond::policy::testing
