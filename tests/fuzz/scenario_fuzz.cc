// SPDX-License-Identifier: Apache-2.0
// The scenario grammar: any text gives a ScenarioSpec or a one-line error, never a crash.
#include <cstddef>
#include <cstdint>
#include <string>

#include "config/scenario.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(data, data + size);
  auto scenario = balloond::config::parseScenario(text, "fuzz.yaml");
  if (!scenario && scenario.error().message.find('\n') != std::string::npos) {
    __builtin_trap();  // errors are one line
  }
  return 0;
}
