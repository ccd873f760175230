// SPDX-License-Identifier: Apache-2.0
// Integration: the libvirt channel against libvirt's own test driver (no daemon needed): the
// real API paths (bulk stats, domain XML, set memory, stats period, node memory, events) and
// scale, with test:///default and a generated node XML of 1,000 running domains.
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "daemon/compile.h"
#include "daemon/controller.h"
#include "daemon/libvirt/channel.h"
#include "tests/daemon/libvirt/test_node.h"

namespace balloond {
namespace {

// The test driver answers in milliseconds: read() always waits for its own read.
constexpr LibvirtWaits kPatient{.read = std::chrono::seconds(60), .stop = std::chrono::seconds(60)};

config::LibvirtSpec specFor(const std::string& uri) {
  config::LibvirtSpec spec;
  spec.uri = uri;
  spec.stats_period_s = 2;
  return spec;
}

TEST(LibvirtTestDriverTest, DefaultNodeReadsAndPushes) {
  spdlog::set_level(spdlog::level::off);
  LibvirtChannel channel(libvirt::makeRealApi(), specFor("test:///default"), {}, kPatient);
  auto snap = channel.read();
  ASSERT_TRUE(snap.ok()) << snap.error().message;
  ASSERT_EQ(snap->vms.size(), 1U);
  const VmSample& vm = snap->vms[0];
  EXPECT_EQ(vm.name, "test");
  EXPECT_EQ(vm.max_kib, 8388608);
  EXPECT_EQ(vm.actual_kib, 2097152);
  EXPECT_TRUE(vm.has_balloon);
  EXPECT_GT(snap->host.total_kib, 0);

  ASSERT_TRUE(channel.push("test", 1048576).ok());
  snap = channel.read();
  ASSERT_TRUE(snap.ok());
  EXPECT_EQ(snap->vms[0].actual_kib, 1048576);

  EXPECT_TRUE(channel.push("no-such-vm", 1048576).ok());
  EXPECT_TRUE(channel.read().ok());
  EXPECT_TRUE(channel.takeFailedPushes().empty()) << "a vanished VM is routine";
}

TEST(HostMemoryIsLocalTest, OnlyThisHostsHypervisorsReadProc) {
  EXPECT_TRUE(libvirt::hostMemoryIsLocal("qemu:///system"));
  EXPECT_TRUE(libvirt::hostMemoryIsLocal("qemu:///session"));
  EXPECT_TRUE(libvirt::hostMemoryIsLocal("qemu+unix:///system"));
  EXPECT_TRUE(libvirt::hostMemoryIsLocal("xen:///system"));
  EXPECT_FALSE(libvirt::hostMemoryIsLocal("qemu+ssh://root@node2/system"));
  EXPECT_FALSE(libvirt::hostMemoryIsLocal("qemu+tcp://10.0.0.2/system"));
  EXPECT_FALSE(libvirt::hostMemoryIsLocal("test:///default"))
      << "the test driver's node is made up";
  EXPECT_FALSE(libvirt::hostMemoryIsLocal("test+unix:///tmp/node.xml"));
  EXPECT_FALSE(libvirt::hostMemoryIsLocal(""));
  EXPECT_FALSE(libvirt::hostMemoryIsLocal("qemu"));
}

TEST(LibvirtTestDriverTest, ThousandDomainsInOneTick) {
  spdlog::set_level(spdlog::level::off);
  const std::string path = testing::writeTestNode(1000, ::testing::TempDir());
  LibvirtChannel channel(libvirt::makeRealApi(), specFor("test://" + path), {}, kPatient);
  config::Config c;
  c.policy.name = "margin";
  c.policy.params["peak_window_s"] = 0;  // the rule alone, from the first report
  c.default_floor_mib = 256;
  auto policy = compile(c);
  ASSERT_TRUE(policy.ok());
  Controller controller(channel, std::move(policy->policy), std::move(policy->settings));

  const TickReport first = controller.tick();
  ASSERT_FALSE(first.error) << *first.error;
  EXPECT_EQ(controller.status().size(), 1000U);
  const auto start = std::chrono::steady_clock::now();
  const TickReport second = controller.tick();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_FALSE(second.error) << *second.error;
  EXPECT_EQ(controller.status().size(), 1000U);
  EXPECT_EQ(second.push_failures, 0);
  EXPECT_LT(seconds, 5.0) << "one tick over 1,000 domains";
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace balloond
