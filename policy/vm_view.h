// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "proto/types.h"

namespace balloond::policy {

// Where a VM stands with its last request, as the acknowledgement tracker sees it.
enum class AckState {
  kSettled,        // actual is within tolerance of the target
  kConverging,     // moving toward the target fast enough
  kStuck,          // not moving fast enough for too long; its target was retracted
  kUncooperative,  // stuck for most of a sliding window: an operator alert
  kNoDriver,       // never reports, or never moves
  kStale,          // stats too old to inflate on
  kExcluded,       // not managed (configured, or unsafe to balloon)
};

std::string_view toString(AckState state);
// The state toString() spells as `name`, or nothing.
std::optional<AckState> ackStateFromString(std::string_view name);

constexpr double kDefaultShares = 1000;  // a VM's shares when no override names it

// A VM's resolved bounds for this tick, in KiB.
struct VmLimits {
  int64_t floor_kib = 0;
  int64_t ceiling_kib = 0;  // at most the VM's max
  bool excluded = false;
  double shares =
      kDefaultShares;  // relative claim on memory (`share`, `host-target`); operator-set
};

// Can this VM be asked to shrink below its actual size? Not when it is not following requests.
inline bool canShrink(AckState state) {
  return state != AckState::kStuck && state != AckState::kUncooperative &&
         state != AckState::kNoDriver && state != AckState::kExcluded;
}

// What a policy is told about one VM.
struct VmView {
  const VmSample* sample = nullptr;
  VmLimits limits;
  int64_t target_kib = 0;  // the target in force (last pushed, or actual if none yet)
  AckState ack = AckState::kSettled;
  bool stats_fresh = true;      // guest stats are recent enough to shrink on
  bool shrink_blocked = false;  // stuck while shrinking: not asked to shrink again yet
  bool grow_blocked = false;    // stuck while growing: not asked to grow again yet
  // Its entry in the PolicyState passed with this input, when the caller has one: saves each
  // policy and guard a lookup by name (historyOf in policy_state.h). Null: looked up by name.
  VmHistory* history = nullptr;
};

}  // namespace balloond::policy
