// SPDX-License-Identifier: Apache-2.0
#include "policy/vm_view.h"

namespace balloond::policy {

std::string_view toString(AckState state) {
  switch (state) {
    case AckState::kSettled: return "settled";
    case AckState::kConverging: return "converging";
    case AckState::kStuck: return "stuck";
    case AckState::kUncooperative: return "uncooperative";
    case AckState::kNoDriver: return "no-driver";
    case AckState::kStale: return "stale";
    case AckState::kExcluded: return "excluded";
  }
  return "unknown";
}

std::optional<AckState> ackStateFromString(std::string_view name) {
  for (AckState s :
       {AckState::kSettled, AckState::kConverging, AckState::kStuck, AckState::kUncooperative,
        AckState::kNoDriver, AckState::kStale, AckState::kExcluded}) {
    if (toString(s) == name) {
      return s;
    }
  }
  return std::nullopt;
}

}  // namespace balloond::policy
