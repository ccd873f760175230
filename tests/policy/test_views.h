// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <deque>
#include <functional>
#include <limits>
#include <string>

#include "policy/policy.h"

namespace balloond::policy::testing {

// Builds PolicyInputs for table-driven policy and guard tests. Sizes in MiB.
class InputBuilder {
 public:
  InputBuilder& host(double total_mib, double available_mib) {
    input_.host.total_kib = mibToKib(total_mib);
    input_.host.available_kib = mibToKib(available_mib);
    return *this;
  }
  InputBuilder& now(double s) {
    input_.now_s = s;
    return *this;
  }
  // A VM with fresh stats; target defaults to actual.
  InputBuilder& vm(const std::string& name, double max_mib, double actual_mib,
                   std::optional<double> available_mib, double floor_mib = 0,
                   std::optional<double> target_mib = std::nullopt) {
    VmSample s;
    s.name = name;
    s.max_kib = mibToKib(max_mib);
    s.actual_kib = mibToKib(actual_mib);
    if (available_mib) {
      s.guest.available_kib = mibToKib(*available_mib);
    }
    s.guest.last_update_s = input_.now_s;
    samples_.push_back(s);
    VmView v;
    v.limits = VmLimits{mibToKib(floor_mib), s.max_kib, false, kDefaultShares};
    v.target_kib = mibToKib(target_mib.value_or(actual_mib));
    views_.push_back(v);
    return *this;
  }
  InputBuilder& stale() {
    views_.back().stats_fresh = false;
    views_.back().ack = AckState::kStale;
    return *this;
  }
  InputBuilder& ceiling(double mib) {
    views_.back().limits.ceiling_kib = mibToKib(mib);
    return *this;
  }
  InputBuilder& hostFree(double free_mib) {
    input_.host.free_kib = mibToKib(free_mib);
    return *this;
  }
  InputBuilder& reserve(double mib) {
    input_.host_reserve_kib = mibToKib(mib);
    return *this;
  }
  InputBuilder& unused(double mib) {
    samples_.back().guest.unused_kib = mibToKib(mib);
    return *this;
  }
  // Cumulative counters as of this report, reported at `at_s`.
  InputBuilder& counters(int64_t major_faults, double swap_in_mib, double at_s) {
    samples_.back().guest.major_faults = major_faults;
    samples_.back().guest.swap_in_kib = mibToKib(swap_in_mib);
    samples_.back().guest.last_update_s = at_s;
    return *this;
  }
  // Edits the last VM's sample in place (raw KiB: for sizes the MiB helpers cannot express).
  InputBuilder& sample(const std::function<void(VmSample&)>& edit) {
    edit(samples_.back());
    return *this;
  }
  // The last VM reports every size and counter as INT64_MAX, with `available` and `unused` at
  // `free_kib` (INT64_MAX too by default).
  InputBuilder& huge(int64_t free_kib = std::numeric_limits<int64_t>::max()) {
    constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
    VmSample& s = samples_.back();
    s.max_kib = s.actual_kib = kMax;
    s.guest.available_kib = s.guest.unused_kib = s.guest.usable_kib = free_kib;
    s.guest.total_kib = s.guest.disk_caches_kib = kMax;
    s.guest.swap_in_kib = s.guest.swap_out_kib = s.guest.major_faults = s.guest.minor_faults = kMax;
    views_.back().limits.ceiling_kib = kMax;
    views_.back().target_kib = kMax;
    return *this;
  }
  InputBuilder& ack(AckState state) {
    views_.back().ack = state;
    return *this;
  }
  InputBuilder& shares(double s) {
    views_.back().limits.shares = s;
    return *this;
  }
  InputBuilder& excluded() {
    views_.back().limits.excluded = true;
    return *this;
  }
  // The input, with views pointing into this builder's samples: keep the builder alive.
  const PolicyInput& build() {
    input_.vms.clear();
    for (size_t i = 0; i < samples_.size(); ++i) {
      views_[i].sample = &samples_[i];
      input_.vms.push_back(views_[i]);
    }
    return input_;
  }

 private:
  PolicyInput input_;
  std::deque<VmSample> samples_;
  std::deque<VmView> views_;
};

inline double mib(int64_t kib) {
  return kibToMib(kib);
}

}  // namespace balloond::policy::testing
