// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/range.h"
#include "config/spec.h"

namespace balloond::config {

// Reads a key's value from the struct it lives in; a null JSON value means "not set".
using KeyValue = std::variant<nlohmann::json (*)(const Config&),          // top level, sections
                              nlohmann::json (*)(const VmOverrideSpec&),  // vms[]
                              nlohmann::json (*)(const QmpSocketSpec&),   // channel.qmp.sockets[]
                              nlohmann::json (*)(const SimVmSpec&),       // channel.sim.vms[]
                              nlohmann::json (*)(const PhaseSpec&)>;      // ...workload.phases[]

// One key of the daemon's configuration file, written once: its dotted path (list items as
// `vms[].floor_mib`), its help line, its range if it is a number, and how to read its value. Its
// default is that value in a default-constructed struct (config/spec.h). The loader takes its
// ranges from here, config-get its keys, and `balloond --config-keys` and the man-page test the
// whole table.
struct Key {
  std::string_view path;
  std::string_view help;
  std::optional<Range> range;
  KeyValue value;
  bool required = false;  // must be given (within its section or list item), for the table
};

// Every key of the daemon config, in the order of the reference config.
const std::vector<Key>& configKeys();

// The key at `path` ("guards.inflate_step_mib", "vms[].floor_mib"), or nullptr.
const Key* findKey(std::string_view path);

// Its range, if `path` names a numeric key.
std::optional<Range> keyRange(std::string_view path);

// Its value in a default-constructed struct (null: unset by default).
nlohmann::json defaultValue(const Key& key);

// What config-get shows: every key that is set, at its path, plus "source"; vms[] and
// channel.qmp.sockets[] as lists of objects. Everything but the simulated host's VMs
// (channel.sim.vms), which are the simulation's and not settings.
nlohmann::json configToJson(const Config& config);

// The table as text, one line per key: path, range, default, help (`balloond --config-keys`).
std::string keyTable();

}  // namespace balloond::config
