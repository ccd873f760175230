// SPDX-License-Identifier: Apache-2.0
// The state file's codec: any bytes give a state or an error naming a field; a state that reads
// writes back to the same state (nothing is lost or invented on a save after a load).
#include <cstddef>
#include <cstdint>

#include "daemon/state/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto j = nlohmann::json::parse(data, data + size, nullptr, false);
  if (j.is_discarded()) {
    return 0;
  }
  auto state = balloond::persistedStateFromJson(j);
  if (!state) {
    return 0;
  }
  auto again = balloond::persistedStateFromJson(balloond::toJson(*state));
  if (!again || !(*again == *state)) {
    __builtin_trap();  // a state that reads must survive its own save
  }
  return 0;
}
