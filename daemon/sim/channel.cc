// SPDX-License-Identifier: Apache-2.0
#include "daemon/sim/channel.h"

namespace balloond {

Result<Snapshot> SimChannel::read() {
  return host_.snapshot();
}

Status SimChannel::push(const std::string& vm, int64_t target_kib) {
  if (!host_.setTarget(vm, target_kib)) {
    return Error{"sim: no running VM '" + vm + "'"};
  }
  return Ok{};
}

}  // namespace balloond
