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

}  // namespace balloond::policy
