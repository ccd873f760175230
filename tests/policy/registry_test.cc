// SPDX-License-Identifier: Apache-2.0
#include "policy/registry.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

namespace balloond::policy {
namespace {

class NullPolicy : public Policy {
 public:
  std::vector<Decision> decide(const PolicyInput& /*input*/, PolicyState& /*state*/) override {
    return {};
  }
};

PolicyEntry entry(const std::string& name) {
  return PolicyEntry{
      .name = name,
      .summary = "test",
      .params = {{"gain", 1.0, 0.0, 2.0, "a gain"}},
      .make = [](const ParamValues&) -> std::unique_ptr<Policy> {
        return std::make_unique<NullPolicy>();
      },
  };
}

TEST(RegistryTest, ListsNamesSortedAndRejectsDuplicates) {
  Registry registry;
  ASSERT_TRUE(registry.add(entry("zeta")).ok());
  ASSERT_TRUE(registry.add(entry("alpha")).ok());
  auto dup = registry.add(entry("zeta"));
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().message, "policy 'zeta' is registered twice");
  EXPECT_EQ(registry.names(), (std::vector<std::string>{"alpha", "zeta"}));
}

TEST(RegistryTest, ValidatesParameters) {
  Registry registry;
  ASSERT_TRUE(registry.add(entry("p")).ok());
  EXPECT_EQ(registry.resolveParams("nope", {}).error().message, "unknown policy 'nope' (known: p)");
  EXPECT_EQ(registry.resolveParams("p", {{"gian", 1}}).error().message,
            "unknown parameter 'gian' for policy 'p' (known: gain)");
  EXPECT_EQ(registry.resolveParams("p", {{"gain", 3}}).error().message,
            "parameter 'gain' of policy 'p' must be between 0 and 2, got 3");
  EXPECT_EQ(registry.resolveParams("p", {{"gain", std::nan("")}}).error().message,
            "parameter 'gain' of policy 'p' must be between 0 and 2, got nan");
  auto ok = registry.resolveParams("p", {});
  ASSERT_TRUE(ok.ok());
  EXPECT_DOUBLE_EQ(ok->at("gain"), 1.0);
  EXPECT_TRUE(registry.create("p", {{"gain", 2}}).ok());
}

TEST(RegistryTest, EveryBuiltInIsRegistered) {
  // The policy library is linked as an OBJECT library: no registration may be dropped.
  const auto names = Registry::instance().names();
  for (const char* builtin : {"host-target", "margin", "mom", "pressure", "share", "static"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), builtin), names.end()) << builtin;
  }
}

}  // namespace
}  // namespace balloond::policy
