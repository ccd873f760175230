// SPDX-License-Identifier: Apache-2.0
#include "daemon/compile.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "daemon/vm_limits.h"
#include "tests/daemon/fake_channel.h"

namespace balloond {
namespace {

// Records which channel compile() asked for, and hands out fake channels.
class RecordingOpener : public ChannelOpener {
 public:
  Result<std::unique_ptr<Channel>> openSim(const config::SimHostSpec& spec) override {
    opened.push_back("sim total_mib=" + std::to_string(static_cast<int>(spec.total_mib)));
    return std::unique_ptr<Channel>(std::make_unique<testing::FakeChannel>());
  }
  Result<std::unique_ptr<Channel>> openLibvirt(const config::LibvirtSpec& spec) override {
    opened.push_back("libvirt " + spec.uri);
    if (refuse) {
      return Error{"cannot connect"};
    }
    return std::unique_ptr<Channel>(std::make_unique<testing::FakeChannel>());
  }
  Result<std::unique_ptr<Channel>> openQmp(const config::QmpSpec& spec) override {
    opened.push_back("qmp " + (spec.sockets.empty() ? std::string() : spec.sockets[0].glob));
    return std::unique_ptr<Channel>(std::make_unique<testing::FakeChannel>());
  }
  std::vector<std::string> opened;
  bool refuse = false;
};

config::Config simConfig() {
  config::Config c;
  c.source = "test.yaml";
  c.channel.sim.total_mib = 4096;
  return c;
}

TEST(CompileTest, BuildsPolicyAndSettingsWithoutAChannel) {
  config::Config c = simConfig();
  c.policy.name = "mom";
  c.default_floor_mib = 300;
  c.guards.inflate_step_mib = 64;
  c.acks.min_rate_mib_s = 2;
  c.acks.cooperative_after_s = 90;
  config::VmOverrideSpec db_floor;
  db_floor.match = "db*";
  db_floor.floor_mib = 1024;
  c.vms.push_back(db_floor);
  auto compiled = compile(c);
  ASSERT_TRUE(compiled.ok()) << compiled.error().message;
  EXPECT_EQ(compiled->channel, nullptr);
  ASSERT_NE(compiled->policy, nullptr);
  EXPECT_EQ(compiled->settings.policy_name, "mom");
  EXPECT_EQ(compiled->settings.default_floor_kib, 300 * kKibPerMib);
  EXPECT_EQ(compiled->settings.guards.inflate_step_kib, 64 * kKibPerMib);
  EXPECT_DOUBLE_EQ(compiled->settings.acks.min_rate_kib_s, 2.0 * kKibPerMib);
  EXPECT_DOUBLE_EQ(compiled->settings.acks.cooperative_after_s, 90);
  VmSample db;
  db.name = "db1";
  db.max_kib = 8 * 1024 * kKibPerMib;
  VmLimitIndex limits(compiled->settings.overrides, compiled->settings.default_floor_kib);
  EXPECT_EQ(limits.limitsFor(db).floor_kib, 1024 * kKibPerMib);
}

TEST(CompileTest, OpensTheChannelTheConfigNames) {
  RecordingOpener opener;
  auto sim = compile(simConfig(), &opener);
  ASSERT_TRUE(sim.ok());
  EXPECT_NE(sim->channel, nullptr);
  config::Config lv = simConfig();
  lv.channel.type = "libvirt";
  lv.channel.libvirt.uri = "test:///default";
  auto libvirt = compile(lv, &opener);
  ASSERT_TRUE(libvirt.ok());
  config::Config q = simConfig();
  q.channel.type = "qmp";
  q.channel.qmp.sockets.push_back({.glob = "/var/run/qemu-server/*.qmp"});
  ASSERT_TRUE(compile(q, &opener).ok());
  EXPECT_EQ(opener.opened,
            (std::vector<std::string>{"sim total_mib=4096", "libvirt test:///default",
                                      "qmp /var/run/qemu-server/*.qmp"}));
}

TEST(CompileTest, StateDirDefaultsToVarLibOnRealHypervisors) {
  config::Config c = simConfig();
  EXPECT_EQ(compile(c)->state_dir, "");
  c.channel.type = "qmp";
  EXPECT_EQ(compile(c)->state_dir, config::kDefaultStateDir);
  c.channel.type = "libvirt";
  EXPECT_EQ(compile(c)->state_dir, config::kDefaultStateDir);
  c.state_dir = "/srv/balloond";
  EXPECT_EQ(compile(c)->state_dir, "/srv/balloond");
}

TEST(CompileTest, ErrorsNameTheFileAndBuildNothing) {
  config::Config c = simConfig();
  c.policy.name = "no-such-policy";
  RecordingOpener opener;
  auto bad_policy = compile(c, &opener);
  ASSERT_FALSE(bad_policy.ok());
  EXPECT_EQ(bad_policy.error().message.rfind("test.yaml: policy: ", 0), 0U)
      << bad_policy.error().message;
  EXPECT_TRUE(opener.opened.empty());  // nothing opened for a config that does not compile

  config::Config q = simConfig();
  q.channel.type = "xen-direct";
  auto unknown = compile(q, &opener);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().message, "channel 'xen-direct' is not available in this build");

  config::Config lv = simConfig();
  lv.channel.type = "libvirt";
  opener.refuse = true;
  auto refused = compile(lv, &opener);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().message, "cannot connect");
}

}  // namespace
}  // namespace balloond
