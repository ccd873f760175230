// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "proto/control.h"

namespace balloond::ctl {

// balloonctl's human-readable text for each kind of answer (--json prints the raw arguments
// instead). Each returns whole lines, newline included; an answer of the wrong shape gives its
// decoding error rather than a partial table.
std::string mib(int64_t kib);
std::string textOf(const control::Response& r);
std::string prettyJson(const control::Response& r);
std::string vmTable(const nlohmann::json& vms);
std::string vmListText(const control::Response& r);
std::string statusText(const nlohmann::json& j);
std::string statusAnswerText(const control::Response& r);
std::string vmText(const control::Response& r);
std::string reclaimText(const control::Response& r);
std::string commandsText(const control::Response& r);

}  // namespace balloond::ctl
