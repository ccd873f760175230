// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "policy/policy.h"
#include "proto/result.h"

namespace balloond::policy {

// How to make one policy: its parameters and a factory taking validated values.
struct PolicyEntry {
  std::string name;
  std::string summary;
  std::vector<ParamInfo> params;
  std::function<std::unique_ptr<Policy>(const ParamValues&)> make;
};

// Every policy, by name. Built-ins register themselves with BALLOOND_REGISTER_POLICY.
class Registry {
 public:
  static Registry& instance();

  // Adds an entry; a duplicate name is an error.
  Status add(PolicyEntry entry);
  const PolicyEntry* find(const std::string& name) const;
  std::vector<std::string> names() const;  // sorted

  // Fills defaults and checks every given value is a known name within range.
  Result<ParamValues> resolveParams(const std::string& name,
                                    const std::map<std::string, double>& given) const;
  Result<std::unique_ptr<Policy>> create(const std::string& name,
                                         const std::map<std::string, double>& given) const;

 private:
  std::vector<PolicyEntry> entries_;
};

// Registers a policy at static-initialisation time. Nothing references these objects, so every
// target that links the policy library takes it whole (WHOLE_ARCHIVE) and none is dropped.
struct Registration {
  explicit Registration(PolicyEntry entry);
};

}  // namespace balloond::policy

#define BALLOOND_REGISTER_POLICY(id, entry)                          \
  static const ::balloond::policy::Registration kRegistration_##id { \
    entry                                                            \
  }
