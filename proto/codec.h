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

// A policy's memory as {"policy": name, "memory": value}; the value is the policy's to check.
nlohmann::json toJson(const PolicyMemory& memory);
// Checks the envelope only (a non-empty name, a value); errors start with `path`.
Result<PolicyMemory> policyMemoryFromJson(const nlohmann::json& j, const std::string& path);

// The snapshot form plus, per VM, optional "control" (target in force, state) and "history"
// (what every policy and the guards remember), and a top-level "policy_memory" (the configured
// policy's own memory, opaque). See proto/README.md.
nlohmann::json toJson(const VmHistory& history);
nlohmann::json toJson(const StateDump& dump);
// Reads a state dump, or a plain snapshot (no control records, empty history).
Result<StateDump> stateDumpFromJson(const nlohmann::json& j);

}  // namespace balloond
