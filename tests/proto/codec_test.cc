// SPDX-License-Identifier: Apache-2.0
#include "proto/codec.h"

#include <gtest/gtest.h>

namespace balloond {
namespace {

Snapshot sampleSnapshot() {
  Snapshot s;
  s.time_s = 12.5;
  s.host = {.total_kib = 16 << 20, .available_kib = 4 << 20, .free_kib = {}, .psi_some_avg10 = 1.5};
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

// Two VMs of one name would cross their decisions (--evaluate matches control and history by
// name): a snapshot naming a VM twice is refused, naming it.
TEST(CodecTest, ASnapshotNamingAVmTwiceIsRefused) {
  nlohmann::json j = toJson(sampleSnapshot());
  j["vms"].push_back(j["vms"][0]);
  j["vms"][1]["actual_kib"] = 1;
  auto out = snapshotFromJson(j);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().message, "snapshot.vms[1].name: VM 'web1' is given twice (also vms[0])");
  auto dump = stateDumpFromJson(j);
  ASSERT_FALSE(dump.ok());
  EXPECT_EQ(dump.error().message, out.error().message);
}

StateDump sampleDump() {
  StateDump d;
  d.snapshot = sampleSnapshot();
  d.snapshot.host.free_kib = 5 << 20;
  d.control["web1"] = {.target_kib = 1000000, .state = "converging"};
  VmHistory& h = d.history.vms["web1"];
  h.last_grow_s = 3;
  h.last_reason = "mom-grow";
  h.major_faults = 42;
  h.counters_s = 12;
  h.major_faults_per_s = 1.5;
  d.policy_memory = {.policy = "mom", .memory = {{"anything", {1, 2}}}};
  return d;
}

TEST(CodecTest, StateDumpRoundTrips) {
  const StateDump in = sampleDump();
  auto out = stateDumpFromJson(toJson(in));
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(toJson(*out), toJson(in));
  EXPECT_EQ(out->control.at("web1"), in.control.at("web1"));
  EXPECT_EQ(out->history, in.history);
  EXPECT_EQ(out->policy_memory, in.policy_memory);  // opaque: carried as it is
  EXPECT_EQ(out->snapshot.host.free_kib, 5 << 20);
}

// Dumps written before policies kept their own memory had its fields in each VM's history and
// host_free_history at the top level: they are read, without that memory.
TEST(CodecTest, ADumpWithTheOldPolicyFieldsIsReadWithoutThem) {
  nlohmann::json j = toJson(sampleDump());
  j.erase("policy_memory");
  j["vms"][0]["history"]["actual_window_kib"] = {1 << 20};
  j["vms"][0]["history"]["active_fast"] = 0.25;
  j["vms"][0]["history"]["refault_avg_kib_s"] = 3;
  j["host_free_history"] = {0.3, 0.25};
  auto out = stateDumpFromJson(j);
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(out->history, sampleDump().history);
  EXPECT_TRUE(out->policy_memory.policy.empty());
}

TEST(CodecTest, APlainSnapshotIsADumpWithoutHistory) {
  auto out = stateDumpFromJson(toJson(sampleSnapshot()));
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_TRUE(out->control.empty());
  EXPECT_TRUE(out->history.vms.empty());
  EXPECT_TRUE(out->policy_memory.policy.empty());
}

TEST(CodecTest, RejectsBadHistoryNamingThePath) {
  struct Case {
    const char* what;
    void (*spoil)(nlohmann::json&);
    const char* error;
  };
  const Case cases[] = {
      {"rate not a number",
       [](nlohmann::json& j) { j["vms"][0]["history"]["major_faults_per_s"] = "a"; },
       "snapshot.vms[0].history.major_faults_per_s: expected a number"},
      {"target not a number", [](nlohmann::json& j) { j["vms"][0]["control"]["target_kib"] = "x"; },
       "snapshot.vms[0].control.target_kib: expected an integer"},
      {"negative target", [](nlohmann::json& j) { j["vms"][0]["control"]["target_kib"] = -5; },
       "snapshot.vms[0].control.target_kib: expected a non-negative integer"},
      {"history not an object", [](nlohmann::json& j) { j["vms"][0]["history"] = 1; },
       "snapshot.vms[0].history: expected an object"},
      {"policy memory without a policy",
       [](nlohmann::json& j) { j["policy_memory"].erase("policy"); },
       "snapshot.policy_memory.policy: expected a non-empty string"},
      {"policy memory without memory",
       [](nlohmann::json& j) { j["policy_memory"].erase("memory"); },
       "snapshot.policy_memory.memory: missing"},
  };
  for (const auto& c : cases) {
    nlohmann::json j = toJson(sampleDump());
    c.spoil(j);
    auto out = stateDumpFromJson(j);
    ASSERT_FALSE(out.ok()) << c.what;
    EXPECT_EQ(out.error().message, c.error) << c.what;
  }
}

}  // namespace
}  // namespace balloond
