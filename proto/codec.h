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

}  // namespace balloond
