// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "proto/result.h"
#include "proto/types.h"

namespace balloond::qmp {

// What balloond reads from QEMU's answers. Every function takes an untrusted `return` value and
// answers an Error naming the command when it has the wrong shape. Pure.

// QEMU's "no value" for a balloon statistic it does not support or has not received yet.
constexpr uint64_t kStatAbsent = UINT64_MAX;

// query-balloon: the guest's current size ("actual", bytes) in KiB.
Result<int64_t> actualFromQueryBalloon(const nlohmann::json& ret);

// query-memory-size-summary: base plus hot-plugged memory (bytes), the most the VM can have, in
// KiB.
Result<int64_t> maxFromMemorySummary(const nlohmann::json& ret);

// query-name: the VM's -name, if it was given one that can serve as balloond's name for it
// (1 to 128 printable characters, no white space, '/' or quote). An unusable name is none.
std::optional<std::string> nameFromQueryName(const nlohmann::json& ret);

// qom-list of a parent such as /machine/peripheral: the QOM path of the first virtio balloon child
// (type "child<virtio-balloon-pci>", "-ccw", "-device", ...), if any.
std::optional<std::string> balloonIn(const nlohmann::json& ret, std::string_view parent);

// qom-get guest-stats: the guest's report. Sizes arrive in bytes and leave in KiB; kStatAbsent
// (and any non-number) is a missing statistic; `last-update` is the host's time of the report in
// seconds, 0 for never.
Result<GuestStats> guestStatsFromQom(const nlohmann::json& ret);

// qom-get guest-stats-polling-interval: seconds, 0 when off.
Result<int64_t> pollingIntervalFromQom(const nlohmann::json& ret);

// A VM name from a socket file's name: the file name without its last extension
// ("/var/run/qemu-server/100.qmp" -> "100").
std::string nameFromSocketPath(std::string_view path);

}  // namespace balloond::qmp
