// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "proto/result.h"
#include "proto/types.h"

namespace balloond {

// JSON forms of the snapshot types: the control socket's snapshot-get and the offline
// evaluation format. Field names follow libvirt's balloon stats; sizes stay in KiB.
nlohmann::json toJson(const GuestStats& g);
nlohmann::json toJson(const VmSample& vm);
nlohmann::json toJson(const HostSample& host);
nlohmann::json toJson(const Snapshot& snapshot);

// Parses a snapshot, checking every field's type and range. Errors name the field's JSON path.
Result<Snapshot> snapshotFromJson(const nlohmann::json& j);
// Parses one VM's guest stats, as toJson(GuestStats) writes them.
Result<GuestStats> guestStatsFromJson(const nlohmann::json& j);

// The snapshot form plus, per VM, optional "control" (target in force, state) and "history"
// (what the policies remember), and a top-level "host_free_history". See proto/README.md.
nlohmann::json toJson(const VmHistory& history);
nlohmann::json toJson(const StateDump& dump);
// Reads a state dump, or a plain snapshot (no control records, empty history).
Result<StateDump> stateDumpFromJson(const nlohmann::json& j);

}  // namespace balloond
