// SPDX-License-Identifier: Apache-2.0
#include "daemon/reclaim.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

namespace balloond {

using Outcome = ReclaimStatus::Outcome;

std::string_view toString(Outcome outcome) {
  switch (outcome) {
    case Outcome::kInProgress: return "in-progress";
    case Outcome::kSuccess: return "success";
    case Outcome::kCannotFree: return "cannot-free";
    case Outcome::kRefused: return "refused";
  }
  return "unknown";
}

namespace {

// The host's own view of a VM's size: QEMU's RSS where known, else the balloon actual.
int64_t hostViewKib(const VmSample& vm) {
  return vm.rss_kib.value_or(vm.actual_kib);
}

double mib(int64_t kib) {
  return kibToMib(kib);
}

std::string names(const std::vector<std::string>& vms) {
  std::string out;
  for (const auto& vm : vms) {
    out += (out.empty() ? "" : ", ") + vm;
  }
  return out;
}

}  // namespace

ReclaimRun::ReclaimRun(uint64_t id, int64_t need_kib, const std::vector<policy::VmView>& views,
                       const policy::Guards& guards, double now_s) {
  status_.id = id;
  status_.requested_kib = need_kib;
  status_.started_s = now_s;
  const policy::ReclaimPlan plan = policy::planReclaim(views, guards, need_kib);
  if (!plan.feasible) {
    finish(Outcome::kCannotFree,
           fmt::format("floors leave only {:.0f} MiB to give of the {:.0f} MiB asked",
                       mib(plan.capacity_kib), mib(need_kib)),
           now_s);
    return;
  }
  adopt(plan, views);
  status_.text = fmt::format("freeing {:.0f} MiB from {} VMs", mib(need_kib), plan.shares.size());
}

void ReclaimRun::adopt(const policy::ReclaimPlan& plan, const std::vector<policy::VmView>& views) {
  for (const auto& share : plan.shares) {
    if (!start_kib_.contains(share.vm)) {
      for (const auto& v : views) {
        if (v.sample->name == share.vm) {
          start_kib_[share.vm] = hostViewKib(*v.sample);
          start_actual_[share.vm] = v.sample->actual_kib;
        }
      }
    }
    status_.plan_kib[share.vm] += share.kib;
  }
}

int64_t ReclaimRun::unverifiedKib(const std::string& vm, const VmSample& s) {
  const int64_t claimed = start_actual_[vm] - s.actual_kib;
  const int64_t seen = start_kib_[vm] - hostViewKib(s);
  return std::max<int64_t>(0, claimed - seen);
}

void ReclaimRun::finish(Outcome outcome, std::string text, double now_s) {
  status_.outcome = outcome;
  status_.text = std::move(text);
  status_.finished_s = now_s;
}

std::vector<policy::Decision> ReclaimRun::update(const std::vector<policy::VmView>& views,
                                                 const policy::Guards& guards, double now_s) {
  if (!active()) {
    return {};
  }
  std::map<std::string, const policy::VmView*> by_name;
  for (const auto& v : views) {
    by_name[v.sample->name] = &v;
  }
  // Progress, by the host's view; donors that vanished or stopped cooperating keep what they gave.
  status_.freed_kib = 0;
  std::set<std::string> failed(status_.refused_by.begin(), status_.refused_by.end());
  int64_t owed_by_failed = 0;
  for (const auto& [vm, share] : status_.plan_kib) {
    auto it = by_name.find(vm);
    const int64_t given =
        it == by_name.end()
            ? 0
            : std::max<int64_t>(0, start_kib_[vm] - hostViewKib(*it->second->sample));
    status_.freed_kib += std::min(given, share);
    const bool gone = it == by_name.end();
    const auto ack = gone ? policy::AckState::kNoDriver : it->second->ack;
    const bool failing = gone || ack == policy::AckState::kStuck ||
                         ack == policy::AckState::kUncooperative ||
                         ack == policy::AckState::kNoDriver;
    if (failing && given < share && !failed.contains(vm)) {
      failed.insert(vm);
      status_.refused_by.push_back(vm);
      owed_by_failed += share - given;
      status_.plan_kib[vm] = given;
    }
  }
  const int64_t tolerance = std::max<int64_t>(kKibPerMib, status_.requested_kib / 100);
  if (status_.freed_kib + tolerance >= status_.requested_kib) {
    finish(Outcome::kSuccess, fmt::format("freed {:.0f} MiB", mib(status_.freed_kib)), now_s);
    return {};
  }
  if (owed_by_failed > 0) {
    // What each donor still owes is already spoken for.
    std::map<std::string, int64_t> owed;
    for (const auto& [vm, share] : status_.plan_kib) {
      auto it = by_name.find(vm);
      if (it != by_name.end()) {
        owed[vm] =
            std::max<int64_t>(0, share - (start_kib_[vm] - hostViewKib(*it->second->sample)));
      }
    }
    // A donor that claims more than the host saw it give is not trusted with more.
    std::set<std::string> skip = failed;
    for (const auto& [vm, share] : status_.plan_kib) {
      auto it = by_name.find(vm);
      if (it != by_name.end() && unverifiedKib(vm, *it->second->sample) > tolerance) {
        skip.insert(vm);
      }
    }
    const policy::ReclaimPlan replan =
        policy::planReclaim(views, guards, owed_by_failed, skip, owed);
    if (!replan.feasible) {
      finish(
          Outcome::kRefused,
          fmt::format("freed {:.0f} of {:.0f} MiB; did not cooperate: {}", mib(status_.freed_kib),
                      mib(status_.requested_kib), names(status_.refused_by)),
          now_s);
      return {};
    }
    adopt(replan, views);
  }
  if (now_s - status_.started_s >= kTimeoutS) {
    std::vector<std::string> short_of;
    for (const auto& [vm, share] : status_.plan_kib) {
      auto it = by_name.find(vm);
      if (it == by_name.end() || start_kib_[vm] - hostViewKib(*it->second->sample) < share) {
        short_of.push_back(vm);
      }
    }
    status_.refused_by = short_of;
    finish(
        Outcome::kRefused,
        fmt::format("timed out after {:.0f} s having freed {:.0f} of {:.0f} MiB; short: {}",
                    kTimeoutS, mib(status_.freed_kib), mib(status_.requested_kib), names(short_of)),
        now_s);
    return {};
  }
  std::vector<policy::Decision> out;
  for (const auto& [vm, share] : status_.plan_kib) {
    auto it = by_name.find(vm);
    if (it == by_name.end() || failed.contains(vm)) {
      continue;
    }
    // The target is where the guest stood at the start less its share, in the guest's own
    // terms: never more than the share, whatever the guest claims or the host sees.
    const int64_t target = start_actual_[vm] - share;
    out.push_back({vm, std::min(target, it->second->target_kib), "reclaim", true});
  }
  return out;
}

}  // namespace balloond
