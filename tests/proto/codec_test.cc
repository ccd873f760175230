#include "proto/codec.h"

#include <gtest/gtest.h>

namespace balloond {
namespace {

Snapshot sampleSnapshot() {
  Snapshot s;
  s.time_s = 12.5;
  s.host = {.total_kib = 16 << 20, .available_kib = 4 << 20, .psi_some_avg10 = 1.5};
  VmSample vm;
  vm.name = "web1";
  vm.max_kib = 2 << 20;
  vm.actual_kib = 1 << 20;
  vm.rss_kib = 900000;
  vm.guest.available_kib = 300000;
  vm.guest.major_faults = 42;
  vm.guest.last_update_s = 12;
  s.vms.push_back(vm);
  return s;
}

TEST(CodecTest, SnapshotRoundTrips) {
  const Snapshot in = sampleSnapshot();
  auto out = snapshotFromJson(toJson(in));
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(toJson(*out), toJson(in));
  EXPECT_EQ(out->vms[0].guest.available_kib, 300000);
  EXPECT_FALSE(out->vms[0].guest.unused_kib.has_value());
}

TEST(CodecTest, RejectsBadFieldsNamingThePath) {
  struct Case {
    const char* what;
    void (*spoil)(nlohmann::json&);
    const char* error;
  };
  const Case cases[] = {
      {"negative size", [](nlohmann::json& j) { j["vms"][0]["actual_kib"] = -1; },
       "snapshot.vms[0].actual_kib: expected a non-negative integer"},
      {"string size", [](nlohmann::json& j) { j["vms"][0]["guest"]["available_kib"] = "lots"; },
       "snapshot.vms[0].guest.available_kib: expected a non-negative integer"},
      {"missing host", [](nlohmann::json& j) { j.erase("host"); }, "snapshot.host: missing"},
      {"missing total", [](nlohmann::json& j) { j["host"].erase("total_kib"); },
       "snapshot.host.total_kib: missing"},
      {"vms not a list", [](nlohmann::json& j) { j["vms"] = 3; },
       "snapshot.vms: expected an array"},
      {"empty name", [](nlohmann::json& j) { j["vms"][0]["name"] = ""; },
       "snapshot.vms[0].name: expected a non-empty string"},
      {"vm not an object", [](nlohmann::json& j) { j["vms"][0] = 7; },
       "snapshot.vms[0]: expected an object"},
      {"negative time", [](nlohmann::json& j) { j["time_s"] = -3; },
       "snapshot.time_s: expected a non-negative number"},
  };
  for (const auto& c : cases) {
    nlohmann::json j = toJson(sampleSnapshot());
    c.spoil(j);
    auto out = snapshotFromJson(j);
    ASSERT_FALSE(out.ok()) << c.what;
    EXPECT_EQ(out.error().message, c.error) << c.what;
  }
}

}  // namespace
}  // namespace balloond
