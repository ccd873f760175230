// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <nlohmann/json.hpp>

#include "config/spec.h"
#include "proto/result.h"
#include "proto/types.h"

namespace balloond {

// Offline evaluation (`balloond --evaluate`): runs the configured policy and the guards once on a
// dumped state and returns, per VM, the target and the reason, as JSON. It reads no clock and
// touches no hypervisor. A VM's state comes from its "control" record when the dump has one;
// otherwise it is derived as the controller would for a fresh VM: excluded, no-driver, stale
// (stats older than three periods) or settled. The dump's policy memory is handed to the
// policy when the configured policy wrote it, and ignored otherwise.
Result<nlohmann::json> evaluateDump(const StateDump& dump, const config::Config& config);

}  // namespace balloond
