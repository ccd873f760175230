// SPDX-License-Identifier: Apache-2.0
#include "config/keys.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <set>
#include <sstream>
#include <string>

#include "config/loader.h"

namespace balloond::config {
namespace {

const std::string kReference = BALLOOND_SOURCE_DIR "/config/examples/balloond.yaml";

// Every key path a YAML document sets, list items as `[]`; policy.params (the policy's own
// names) as one key.
void keyPaths(const YAML::Node& node, const std::string& path, std::set<std::string>& out) {
  if (node.IsMap()) {
    for (const auto& kv : node) {
      const std::string p = path.empty() ? kv.first.Scalar() : path + "." + kv.first.Scalar();
      if (p == "policy.params") {
        out.insert(p);
      } else {
        keyPaths(kv.second, p, out);
      }
    }
  } else if (node.IsSequence()) {
    for (const auto& item : node) keyPaths(item, path + "[]", out);
  } else {
    out.insert(path);
  }
}

TEST(KeysTest, TheReferenceConfigSetsEveryTableKeyAndNoOther) {
  std::set<std::string> in_reference;
  keyPaths(YAML::LoadFile(kReference), "", in_reference);
  std::set<std::string> in_table;
  for (const Key& key : configKeys()) {
    EXPECT_TRUE(in_table.insert(std::string(key.path)).second) << "twice: " << key.path;
    EXPECT_TRUE(in_reference.contains(std::string(key.path)))
        << key.path << " is in the table but not in the reference config";
  }
  for (const auto& path : in_reference) {
    EXPECT_TRUE(in_table.contains(path)) << path << " is in the reference config but not the table";
  }
}

TEST(KeysTest, EveryNumberHasARangeItsDefaultSatisfiesUnlessRequired) {
  for (const Key& key : configKeys()) {
    EXPECT_FALSE(key.help.empty()) << key.path;
    const auto def = defaultValue(key);
    if (def.is_number()) {
      ASSERT_TRUE(key.range) << key.path << " is a number without a range";
      if (!key.required && key.path.find("phases[]") == std::string_view::npos) {
        EXPECT_FALSE(key.range->check(def.get<double>())) << key.path;
      }
    } else if (!def.is_null()) {  // unset optionals may be numbers
      EXPECT_FALSE(key.range) << key.path << " has a range but is no number";
    }
  }
}

TEST(KeysTest, FindsKeysAndTheirRanges) {
  ASSERT_NE(findKey("guards.inflate_step_mib"), nullptr);
  EXPECT_EQ(keyRange("tick_s")->text(), "0.05 to 60");
  EXPECT_EQ(keyRange("vms[].shares")->text(), "above 0, at most 1e+06");
  EXPECT_FALSE(keyRange("control.socket"));
  EXPECT_EQ(findKey("no.such.key"), nullptr);
}

TEST(KeysTest, DefaultsComeFromTheStructs) {
  EXPECT_EQ(defaultValue(*findKey("tick_s")), Config{}.tick_s);
  EXPECT_EQ(defaultValue(*findKey("guards.emergency_step_factor")),
            GuardSpec{}.emergency_step_factor);
  EXPECT_EQ(defaultValue(*findKey("channel.libvirt.uri")), LibvirtSpec{}.uri);
  EXPECT_TRUE(defaultValue(*findKey("state_dir")).is_null());
  EXPECT_TRUE(defaultValue(*findKey("vms[].floor_mib")).is_null());
  EXPECT_EQ(defaultValue(*findKey("channel.sim.vms[].workload.phases[].kind")), "constant");
}

TEST(KeysTest, ConfigToJsonLeavesOutUnsetKeysAndTheSimulatedVms) {
  Config c;
  c.source = "x.yaml";
  c.vms.push_back(
      {.match = "web*", .floor_mib = 512, .ceiling_mib = {}, .excluded = {}, .shares = {}});
  SimVmSpec vm;
  vm.name = "a";
  vm.max_mib = 1024;
  c.channel.sim.vms.push_back(vm);
  const auto j = configToJson(c);
  EXPECT_EQ(j.at("source"), "x.yaml");
  EXPECT_FALSE(j.contains("state_dir"));
  EXPECT_EQ(j.at("guards").at("inflate_step_fraction"), 0.25);
  EXPECT_EQ(j.at("channel").at("libvirt").at("uri"), "qemu:///system");
  EXPECT_EQ(j.at("channel").at("sim").at("total_mib"), 0);
  EXPECT_FALSE(j.at("channel").at("sim").contains("vms"));
  EXPECT_EQ(j.at("vms"), nlohmann::json::parse(R"([{"match": "web*", "floor_mib": 512}])"));
  EXPECT_EQ(j.at("on_exit"), "keep");
}

TEST(KeysTest, QmpKeysAndTheSocketListInConfigToJson) {
  EXPECT_EQ(keyRange("channel.qmp.deadline_s")->text(), "above 0, at most 60");
  EXPECT_TRUE(findKey("channel.qmp.sockets[].glob")->required);
  EXPECT_EQ(defaultValue(*findKey("channel.qmp.sockets[].mode")), "shared");
  EXPECT_EQ(defaultValue(*findKey("channel.qmp.sockets[].name_from")), "qemu");
  EXPECT_EQ(defaultValue(*findKey("channel.qmp.deadline_s")), QmpSpec{}.deadline_s);

  Config c;
  EXPECT_EQ(configToJson(c).at("channel").at("qmp").at("sockets"), nlohmann::json::array());
  c.channel.qmp.sockets = {{.glob = "/a/*.qmp", .mode = "shared", .name_from = "socket"},
                           {.glob = "/b/*.qmp", .mode = "exclusive", .name_from = "qemu"}};
  const auto qmp = configToJson(c).at("channel").at("qmp");
  EXPECT_EQ(qmp.at("sockets"), nlohmann::json::parse(R"([
    {"glob": "/a/*.qmp", "mode": "shared", "name_from": "socket"},
    {"glob": "/b/*.qmp", "mode": "exclusive", "name_from": "qemu"}])"));
  EXPECT_EQ(qmp.at("deadline_s"), 0.5);
  EXPECT_EQ(qmp.at("reconnect_max_s"), 30);
}

TEST(KeysTest, TheTableHasOneLinePerKey) {
  std::istringstream table(keyTable());
  std::string line;
  std::size_t n = 0;
  while (std::getline(table, line)) {
    const Key& key = configKeys().at(n++);
    EXPECT_TRUE(line.starts_with(std::string(key.path) + " ")) << line;
    EXPECT_NE(line.find(key.help), std::string::npos) << line;
  }
  EXPECT_EQ(n, configKeys().size());
  EXPECT_NE(keyTable().find("guards.emergency_step_factor"), std::string::npos);
}

}  // namespace
}  // namespace balloond::config
