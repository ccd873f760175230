// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <nlohmann/json.hpp>

#include "daemon/persisted_state.h"
#include "proto/result.h"

namespace balloond {

// The state file's JSON form (state.json): what the controller keeps across restarts.
nlohmann::json toJson(const PersistedState& state);
// Checks the version and every field's type; errors name the JSON path.
Result<PersistedState> persistedStateFromJson(const nlohmann::json& j);

}  // namespace balloond
