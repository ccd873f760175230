// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

namespace balloond {

// Reading one line of JSON from an untrusted peer (a control client, QEMU).

// Whether `line` nests [ and { deeper than `max_depth`, outside strings. Checked before parsing:
// building, copying and freeing a document are recursive, so a deep one would overflow the stack.
bool nestsDeeperThan(std::string_view line, int max_depth);

// One JSON document filling the whole line, or a discarded value. nlohmann's lexer takes a NUL
// byte for the end of input, so a line holding one is refused before parsing (a raw NUL is never
// valid JSON, in a string or out of one). Never throws.
nlohmann::json parseJsonLine(std::string_view line);

}  // namespace balloond
