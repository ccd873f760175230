// SPDX-License-Identifier: Apache-2.0
#include <memory>

#include "policy/registry.h"

namespace balloond::policy {

namespace {

// Keeps every VM's target where it is. For hosts where only operators move memory (admin
// reclaims, pinned targets), with the guards still in force.
class StaticPolicy : public Policy {
 public:
  std::vector<Decision> decide(const PolicyInput& input, PolicyState& /*state*/) override {
    std::vector<Decision> out;
    out.reserve(input.vms.size());
    for (const auto& vm : input.vms) {
      out.push_back({vm.sample->name, vm.target_kib, "static"});
    }
    return out;
  }
};

}  // namespace

BALLOOND_REGISTER_POLICY(static_policy,
                         (PolicyEntry{
                             .name = "static",
                             .summary = "keep every target where it is; only operators move memory",
                             .params = {},
                             .make = [](const ParamValues&) -> std::unique_ptr<Policy> {
                               return std::make_unique<StaticPolicy>();
                             },
                         }));

}  // namespace balloond::policy
