// SPDX-License-Identifier: Apache-2.0
// The snapshot / state-dump codec and what `balloond --evaluate` does with a dump: any bytes
// give a dump or an error; a dump that decodes is evaluated by the policy the first byte picks,
// with its guards, so hostile guest numbers reach every policy's arithmetic (under UBSan).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "daemon/evaluate.h"
#include "policy/registry.h"
#include "proto/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  static const std::vector<std::string> policies = balloond::policy::Registry::instance().names();
  const auto j = nlohmann::json::parse(data + 1, data + size, nullptr, false);
  if (j.is_discarded()) {
    return 0;
  }
  auto dump = balloond::stateDumpFromJson(j);
  if (!dump) {
    return 0;
  }
  (void)balloond::toJson(*dump).dump();  // what was read can be written
  balloond::config::Config config;
  config.policy.name = policies[data[0] % policies.size()];
  (void)balloond::evaluateDump(*dump, config);
  return 0;
}
