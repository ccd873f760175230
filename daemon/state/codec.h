// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <nlohmann/json.hpp>

#include "daemon/persisted_state.h"
#include "proto/result.h"

namespace balloond {

// The state file's JSON form (state.json): what the controller keeps across restarts.
nlohmann::json toJson(const PersistedState& state);
// Checks the version and every field's type; errors name the JSON path. Reads version 2 and
// version 1 (which has no policy memory). The policy memory's content is not checked here: the
// controller hands it to the policy at restore.
Result<PersistedState> persistedStateFromJson(const nlohmann::json& j);

}  // namespace balloond
