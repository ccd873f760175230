// SPDX-License-Identifier: Apache-2.0
// The daemon config's grammar: any text gives a Config or a one-line error, never a crash; a
// Config it gives compiles (the grammar checked the policy) and shows through config-get.
#include <cstddef>
#include <cstdint>
#include <string>

#include "config/keys.h"
#include "config/loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(data, data + size);
  auto config = balloond::config::parseConfig(text, "fuzz.yaml");
  if (config) {
    // As config-get answers it (invalid UTF-8 in a string is replaced, not thrown on).
    (void)balloond::config::configToJson(*config).dump(-1, ' ', false,
                                                       nlohmann::json::error_handler_t::replace);
  } else if (config.error().message.find('\n') != std::string::npos) {
    __builtin_trap();  // errors are one line
  }
  return 0;
}
