// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "daemon/ack_tracker.h"
#include "proto/control.h"
#include "proto/types.h"

namespace balloond {

// One VM as the state file keeps it. Times are on the snapshot clock of the run that saved
// them; PersistedState::clock_s says where that clock stood, so a restarted daemon (whose clock
// may start again at 0) moves them by its first tick's time minus clock_s.
struct PersistedVm {
  std::optional<control::VmOverride> runtime_override;  // vm-set; kept for absent VMs too
  bool known = false;  // the controller had a record: the fields below are meaningful
  int64_t target_kib = 0;
  std::string reason;
  double last_change_s = 0;
  std::string state;         // acknowledgement state when saved, as policy::toString spells it
  std::string state_reason;  // for the log on restore
  std::vector<control::DecisionEntry> history;  // oldest first
  AckMemory ack;
  double last_grow_s = -1e9;  // the guards' holdoffs
  double last_shrink_s = -1e9;

  friend bool operator==(const PersistedVm&, const PersistedVm&) = default;
};

// Everything balloond keeps in its state file. Version 2 added the policy's memory; a version 1
// file is read as one without it.
// NOLINTNEXTLINE(bugprone-exception-escape): nlohmann::json moves are noexcept
struct PersistedState {
  static constexpr int kVersion = 2;
  double clock_s = 0;  // snapshot time of the tick the state was taken at
  bool paused = false;
  std::map<std::string, PersistedVm> vms;
  PolicyMemory policy_memory;  // the policy's own memory, opaque; empty policy: none

  friend bool operator==(const PersistedState&, const PersistedState&) = default;
};

}  // namespace balloond
