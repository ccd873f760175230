// SPDX-License-Identifier: Apache-2.0
#include "proto/json_line.h"

#include <cstddef>

namespace balloond {

bool nestsDeeperThan(std::string_view line, int max_depth) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (in_string) {
      if (c == '\\') {
        ++i;  // the escaped character, a quote included
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) {
        return true;
      }
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return false;
}

nlohmann::json parseJsonLine(std::string_view line) {
  if (line.find('\0') != std::string_view::npos) {
    return nlohmann::json(nlohmann::json::value_t::discarded);
  }
  return nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
}

}  // namespace balloond
