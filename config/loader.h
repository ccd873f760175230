// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>

#include "config/spec.h"
#include "config/yaml_reader.h"
#include "proto/result.h"

namespace balloond::config {

// Parses YAML text into a Config, checking every key, type, range and the policy (through the
// policy registry). `source` names the file in messages, which are one line:
// "FILE:LINE:COL: key.path: problem". The first problem found wins. Never throws.
Result<Config> parseConfig(const std::string& text, const std::string& source);

// Reads and parses a file. A missing or unreadable file gives "PATH: cannot read: <strerror>";
// `check` may refuse the opened file first (see readFile).
Result<Config> loadConfigFile(const std::string& path, const FileCheck& check = nullptr);

}  // namespace balloond::config
