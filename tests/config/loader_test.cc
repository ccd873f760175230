// SPDX-License-Identifier: Apache-2.0
#include "config/loader.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "policy/registry.h"

namespace balloond::config {
namespace {

using policy::ParamValues;
using policy::Policy;
using policy::PolicyEntry;

// A policy of our own, so these tests do not depend on which built-ins are linked.
BALLOOND_REGISTER_POLICY(test_policy,
                         (PolicyEntry{
                             "test-fake",
                             "a policy for config tests",
                             {{"gain", 0.5, 0, 1, "a fraction"}, {"limit", 10, 0, 100, "a count"}},
                             [](const ParamValues&) { return std::unique_ptr<Policy>(); }}));

// The smallest valid config: 6 lines.
const std::string kBase = R"(policy: {name: test-fake}
channel:
  sim:
    total_mib: 4096
    vms:
      - {name: a, max_mib: 1024}
)";

// A config up to its list of VMs: 5 lines, so the first VM is on line 6.
const std::string kHead = R"(policy: {name: test-fake}
channel:
  sim:
    total_mib: 4096
    vms:
)";

// Parses `yaml` as demo.yaml: the error message, or "ok".
std::string errorOf(const std::string& yaml) {
  auto config = parseConfig(yaml, "demo.yaml");
  return config.ok() ? "ok" : config.error().message;
}

TEST(LoaderTest, MinimalConfigGetsDefaults) {
  auto config = parseConfig(kBase, "demo.yaml");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->source, "demo.yaml");
  EXPECT_EQ(config->tick_s, 1);
  EXPECT_EQ(config->default_floor_mib, 256);
  EXPECT_EQ(config->channel.type, "sim");
  EXPECT_EQ(config->channel.sim.total_mib, 4096);
  EXPECT_EQ(config->channel.sim.overhead_mib, 512);
  ASSERT_EQ(config->channel.sim.vms.size(), 1u);
  const SimVmSpec& vm = config->channel.sim.vms[0];
  EXPECT_EQ(vm.name, "a");
  EXPECT_EQ(vm.max_mib, 1024);
  EXPECT_FALSE(vm.actual_mib.has_value());
  EXPECT_FALSE(vm.stop_s.has_value());
  EXPECT_EQ(vm.workload.kernel_mib, 96);
  EXPECT_TRUE(vm.workload.phases.empty());
  EXPECT_EQ(vm.driver.model, "ideal");
  EXPECT_EQ(config->policy.name, "test-fake");
  EXPECT_TRUE(config->policy.params.empty());
  EXPECT_EQ(config->guards.host_reserve_mib, 1024);
  EXPECT_TRUE(config->vms.empty());
}

TEST(LoaderTest, ReadsEveryKey) {
  auto config = parseConfig(R"(
tick_s: 0.5
default_floor_mib: 300
channel:
  type: sim
  sim:
    total_mib: 16384
    overhead_mib: 400
    per_vm_overhead_mib: 40
    vms:
      - name: web1
        max_mib: 2048
        actual_mib: 1536
        swap_mib: 256
        start_s: 5
        stop_s: 120
        workload:
          kernel_mib: 100
          cache_mib: 200
          repeat: true
          restart_s: 15
          phases:
            - {kind: constant, mib: 400, duration_s: 30}
            - {kind: ramp, from_mib: 400, to_mib: 1200, duration_s: 60}
            - {kind: spike, mib: 300, peak_mib: 900, at_s: 10, length_s: 5, duration_s: 40}
            - {kind: periodic, low_mib: 200, high_mib: 800, period_s: 60, duration_s: 0}
        driver:
          model: hidden-floor
          rate_mib_s: 100
          deflate_rate_mib_s: 200
          pressure_rate_mib_s: 4
          stats_period_s: 2
policy:
  name: test-fake
  params: {gain: 0.25, limit: 3}
guards:
  inflate_step_mib: 64
  deflate_step_mib: 512
  min_change_mib: 4
  need_margin_mib: 32
  grow_holdoff_s: 20
  host_reserve_mib: 2048
vms:
  - match: "web*"
    floor_mib: 512
    ceiling_mib: 4096
    excluded: false
  - match: web1
    excluded: true
)",
                            "full.yaml");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->tick_s, 0.5);
  EXPECT_EQ(config->default_floor_mib, 300);
  const SimHostSpec& sim = config->channel.sim;
  EXPECT_EQ(sim.total_mib, 16384);
  EXPECT_EQ(sim.overhead_mib, 400);
  EXPECT_EQ(sim.per_vm_overhead_mib, 40);
  ASSERT_EQ(sim.vms.size(), 1u);
  const SimVmSpec& vm = sim.vms[0];
  EXPECT_EQ(vm.name, "web1");
  EXPECT_EQ(vm.max_mib, 2048);
  EXPECT_EQ(vm.actual_mib, 1536);
  EXPECT_EQ(vm.swap_mib, 256);
  EXPECT_EQ(vm.start_s, 5);
  EXPECT_EQ(vm.stop_s, 120);
  EXPECT_EQ(vm.workload.kernel_mib, 100);
  EXPECT_EQ(vm.workload.cache_mib, 200);
  EXPECT_TRUE(vm.workload.repeat);
  EXPECT_EQ(vm.workload.restart_s, 15);

  const auto& phases = vm.workload.phases;
  ASSERT_EQ(phases.size(), 4u);
  EXPECT_EQ(phases[0].kind, PhaseSpec::Kind::kConstant);
  EXPECT_EQ(phases[0].mib, 400);
  EXPECT_EQ(phases[0].duration_s, 30);
  EXPECT_EQ(phases[1].kind, PhaseSpec::Kind::kRamp);
  EXPECT_EQ(phases[1].from_mib, 400);
  EXPECT_EQ(phases[1].to_mib, 1200);
  EXPECT_EQ(phases[2].kind, PhaseSpec::Kind::kSpike);
  EXPECT_EQ(phases[2].mib, 300);
  EXPECT_EQ(phases[2].peak_mib, 900);
  EXPECT_EQ(phases[2].at_s, 10);
  EXPECT_EQ(phases[2].length_s, 5);
  EXPECT_EQ(phases[2].duration_s, 40);
  EXPECT_EQ(phases[3].kind, PhaseSpec::Kind::kPeriodic);
  EXPECT_EQ(phases[3].low_mib, 200);
  EXPECT_EQ(phases[3].high_mib, 800);
  EXPECT_EQ(phases[3].period_s, 60);
  EXPECT_EQ(phases[3].duration_s, 0);

  EXPECT_EQ(vm.driver.model, "hidden-floor");
  EXPECT_EQ(vm.driver.rate_mib_s, 100);
  EXPECT_EQ(vm.driver.deflate_rate_mib_s, 200);
  EXPECT_EQ(vm.driver.pressure_rate_mib_s, 4);
  EXPECT_EQ(vm.driver.stats_period_s, 2);

  EXPECT_EQ(config->policy.name, "test-fake");
  EXPECT_EQ(config->policy.params, (std::map<std::string, double>{{"gain", 0.25}, {"limit", 3}}));

  const GuardSpec& guards = config->guards;
  EXPECT_EQ(guards.inflate_step_mib, 64);
  EXPECT_EQ(guards.deflate_step_mib, 512);
  EXPECT_EQ(guards.min_change_mib, 4);
  EXPECT_EQ(guards.need_margin_mib, 32);
  EXPECT_EQ(guards.grow_holdoff_s, 20);
  EXPECT_EQ(guards.host_reserve_mib, 2048);

  ASSERT_EQ(config->vms.size(), 2u);
  EXPECT_EQ(config->vms[0].match, "web*");
  EXPECT_EQ(config->vms[0].floor_mib, 512);
  EXPECT_EQ(config->vms[0].ceiling_mib, 4096);
  EXPECT_EQ(config->vms[0].excluded, false);
  EXPECT_EQ(config->vms[1].match, "web1");
  EXPECT_FALSE(config->vms[1].floor_mib.has_value());
  EXPECT_EQ(config->vms[1].excluded, true);
}

TEST(LoaderTest, NumbersInOtherSpellings) {
  auto config = parseConfig("tick_s: 5e-1\ndefault_floor_mib: \"128\"\n" + kBase, "demo.yaml");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->tick_s, 0.5);
  EXPECT_EQ(config->default_floor_mib, 128);
}

// A key or value from the file with a newline in it (found by fuzz_config) is written out, so
// an error stays one line in the log and in a control-socket answer.
TEST(LoaderTest, ErrorsStayOneLine) {
  EXPECT_EQ(errorOf("\"ti\\nck\": 1\n" + kBase),
            "demo.yaml:1:1: ti\\nck: unknown key (known: tick_s, default_floor_mib, state_dir, "
            "channel, policy, guards, acks, vms, control, metrics, on_exit)");
  EXPECT_EQ(errorOf("on_exit: \"a\\tb\\x01\"\n" + kBase).find_first_of("\n\t\x01"),
            std::string::npos);
}

TEST(LoaderTest, UnknownKey) {
  EXPECT_EQ(errorOf("tick_s: 1\ndefault_floor_mib: 256\npolicy:\n  nmae: test-fake\n" +
                    kBase.substr(kBase.find('\n') + 1)),
            "demo.yaml:4:3: policy.nmae: unknown key (known: name, params)");
  EXPECT_EQ(errorOf("tick: 1\n" + kBase),
            "demo.yaml:1:1: tick: unknown key (known: tick_s, default_floor_mib, state_dir, "
            "channel, policy, guards, acks, vms, control, metrics, on_exit)");
}

TEST(LoaderTest, OnExitDefaultsToKeep) {
  auto config = parseConfig(kBase, "demo.yaml");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->on_exit, "keep");

  config = parseConfig(kBase + "on_exit: restore\n", "demo.yaml");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->on_exit, "restore");
  config = parseConfig("on_exit: keep\n" + kBase, "demo.yaml");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->on_exit, "keep");
}

TEST(LoaderTest, OnExitRejectsOtherValues) {
  EXPECT_EQ(errorOf(kBase + "on_exit: restroe\n"),
            "demo.yaml:7:10: on_exit: unknown on_exit action 'restroe' (known: keep, restore)");
  EXPECT_EQ(errorOf("on_exit: [keep]\n" + kBase),
            "demo.yaml:1:10: on_exit: expected a string, got a list");
}

TEST(LoaderTest, ControlAndMetricsDefaultToTheRunDirectoryAndOff) {
  auto config = parseConfig(kBase, "demo.yaml");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->control.socket, "/run/balloond/control.sock");
  EXPECT_EQ(config->control.group, "");
  EXPECT_EQ(config->control.admin_group, "");
  EXPECT_EQ(config->control.idle_timeout_s, 30);
  EXPECT_EQ(config->metrics.listen, "");
}

TEST(LoaderTest, ControlAndMetricsSections) {
  auto config = parseConfig(kBase +
                                "control: {socket: /tmp/b.sock, group: adm, admin_group: wheel, "
                                "idle_timeout_s: 5}\n"
                                "metrics: {listen: \"[::1]:9712\"}\n",
                            "demo.yaml");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(
      config->control,
      (ControlSpec{
          .socket = "/tmp/b.sock", .group = "adm", .admin_group = "wheel", .idle_timeout_s = 5}));
  EXPECT_EQ(config->metrics.listen, "[::1]:9712");

  EXPECT_EQ(errorOf(kBase + "control: {idle_timeout_s: 0}\n"),
            "demo.yaml:7:27: control.idle_timeout_s: must be above 0 and at most 86400, got 0");
  EXPECT_EQ(errorOf(kBase + "control: {socket: \"\"}\n"),
            "demo.yaml:7:19: control.socket: must be a path of 1 to 107 characters");
  EXPECT_EQ(errorOf(kBase + "control: {sock: x}\n"),
            "demo.yaml:7:11: control.sock: unknown key (known: socket, group, admin_group, "
            "idle_timeout_s)");
  EXPECT_EQ(errorOf(kBase + "metrics: {listen: localhost:80}\n"),
            "demo.yaml:7:19: metrics.listen: expected ADDRESS:PORT with an IP address and a port "
            "0-65535 (0: any free one), e.g. 127.0.0.1:9712, got 'localhost:80'");
  EXPECT_EQ(errorOf(kBase + "metrics: {listen: \"127.0.0.1:70000\"}\n").substr(0, 35),
            "demo.yaml:7:19: metrics.listen: exp");
}

TEST(LoaderTest, AckSettings) {
  auto ok = parseConfig(kBase + "acks: {stuck_after_s: 3, uncooperative_window_s: 30}\n", "a.yaml");
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_DOUBLE_EQ(ok->acks.stuck_after_s, 3);
  EXPECT_DOUBLE_EQ(ok->acks.uncooperative_window_s, 30);
  EXPECT_DOUBLE_EQ(ok->acks.min_rate_mib_s, 1);
  EXPECT_DOUBLE_EQ(ok->acks.cooperative_after_s, 60);
  auto sticky = parseConfig(kBase + "acks: {cooperative_after_s: 120}\n", "a.yaml");
  ASSERT_TRUE(sticky.ok()) << sticky.error().message;
  EXPECT_DOUBLE_EQ(sticky->acks.cooperative_after_s, 120);
  EXPECT_EQ(errorOf(kBase + "acks: {cooperative_after_s: 0}\n"),
            std::string("demo.yaml:7:29: acks.cooperative_after_s: must be above 0 and at most "
                        "86400, got 0"));
  EXPECT_EQ(
      errorOf(kBase + "acks: {stuck_after_s: 20, uncooperative_window_s: 10}\n"),
      std::string(
          "demo.yaml:7:51: acks.uncooperative_window_s: must be above stuck_after_s (20), got 10"));
  EXPECT_EQ(
      errorOf(kBase + "acks: {min_rate_mib_s: 0}\n"),
      std::string(
          "demo.yaml:7:24: acks.min_rate_mib_s: must be above 0 and at most 16777216, got 0"));
}

TEST(LoaderTest, WrongType) {
  EXPECT_EQ(errorOf("# demo\ntick_s: fast\n" + kBase),
            "demo.yaml:2:9: tick_s: expected a number, got 'fast'");
  EXPECT_EQ(errorOf("tick_s: [1]\n" + kBase),
            "demo.yaml:1:9: tick_s: expected a number, got a list");
  EXPECT_EQ(errorOf("tick_s: inf\n" + kBase),
            "demo.yaml:1:9: tick_s: expected a number, got 'inf'");
  EXPECT_EQ(errorOf("guards: 5\n" + kBase), "demo.yaml:1:9: guards: expected a map, got '5'");
  EXPECT_EQ(errorOf(kBase + "vms: {match: a}\n"), "demo.yaml:7:6: vms: expected a list, got a map");
  EXPECT_EQ(errorOf(kBase + "vms:\n  - match: a\n    excluded: maybe\n"),
            "demo.yaml:9:15: vms[0].excluded: expected true or false, got 'maybe'");
}

TEST(LoaderTest, EmptyValueIsReportedAtItsKey) {
  EXPECT_EQ(errorOf("tick_s:\n" + kBase), "demo.yaml:1:1: tick_s: expected a number, got nothing");
  // An empty map or list is just empty.
  EXPECT_EQ(errorOf("guards:\nvms:\n" + kBase), "ok");
}

TEST(LoaderTest, OutOfRange) {
  EXPECT_EQ(errorOf("# demo\ntick_s: 100\n" + kBase),
            "demo.yaml:2:9: tick_s: must be between 0.05 and 60, got 100");
  EXPECT_EQ(errorOf("default_floor_mib: -1\n" + kBase),
            "demo.yaml:1:20: default_floor_mib: must be between 0 and 16777216, got -1");
  EXPECT_EQ(errorOf("guards: {inflate_step_mib: 0}\n" + kBase),
            "demo.yaml:1:28: guards.inflate_step_mib: must be above 0 and at most 16777216, got 0");
}

TEST(LoaderTest, MissingRequiredKey) {
  EXPECT_EQ(errorOf(R"(# demo
policy: {name: test-fake}
channel:
  sim:
    total_mib: 4096
    vms:
    - name: web1
      actual_mib: 512
)"),
            "demo.yaml:7:7: channel.sim.vms[0]: missing required key 'max_mib'");
  EXPECT_EQ(errorOf("policy: {name: test-fake}\nchannel:\n  sim:\n    vms:\n      - {name: a, "
                    "max_mib: 1}\n"),
            "demo.yaml:4:5: channel.sim: missing required key 'total_mib'");
  EXPECT_EQ(errorOf("policy: {name: test-fake}\nchannel:\n  type: sim\n"),
            "demo.yaml:3:3: channel: missing required key 'sim'");
  EXPECT_EQ(errorOf("policy: {name: test-fake}\n"),
            "demo.yaml:1:1: missing required key 'channel'");
  EXPECT_EQ(errorOf(""), "demo.yaml:1:1: missing required key 'channel'");
}

TEST(LoaderTest, RootMustBeAMap) {
  EXPECT_EQ(errorOf("- a\n"), "demo.yaml:1:1: expected a map, got a list");
}

TEST(LoaderTest, DuplicateKey) {
  EXPECT_EQ(errorOf("# demo\ntick_s: 1\ntick_s: 2\n" + kBase),
            "demo.yaml:3:1: tick_s: duplicate key");
}

TEST(LoaderTest, SyntaxError) {
  EXPECT_EQ(errorOf("# demo\ntick_s: 1\na: b: c\n"),
            std::string("demo.yaml:3:5: syntax error: ") + YAML::ErrorMsg::MAP_VALUE);
  // yaml-cpp finds an unclosed list at the end of the input.
  EXPECT_EQ(errorOf("tick_s: [1, 2\n"),
            std::string("demo.yaml:2:1: syntax error: ") + YAML::ErrorMsg::END_OF_SEQ_FLOW);
}

TEST(LoaderTest, FirstErrorInDocumentOrderWins) {
  EXPECT_EQ(errorOf("tick_s: fast\nguards: {bogus: 1}\n" + kBase),
            "demo.yaml:1:9: tick_s: expected a number, got 'fast'");
  EXPECT_EQ(errorOf("guards: {bogus: 1}\ntick_s: fast\n" + kBase),
            "demo.yaml:1:10: guards.bogus: unknown key (known: inflate_step_mib, deflate_step_mib, "
            "min_change_mib, need_margin_mib, grow_holdoff_s, host_reserve_mib, "
            "inflate_step_fraction, emergency_step_factor)");
}

TEST(LoaderTest, ChannelType) {
  EXPECT_EQ(errorOf("policy: {name: test-fake}\nchannel:\n  type: xen\n"),
            "demo.yaml:3:9: channel.type: unknown channel type 'xen' (known: sim, libvirt, qmp)");
}

TEST(LoaderTest, LibvirtChannel) {
  const std::string head = "policy: {name: test-fake}\nchannel:\n  type: libvirt\n";
  auto config = parseConfig(head, "demo.yaml");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->channel.libvirt.uri, "qemu:///system");
  EXPECT_TRUE(config->channel.libvirt.set_stats_period);
  EXPECT_EQ(config->channel.libvirt.stats_period_s, 2);

  config = parseConfig(head +
                           "  libvirt:\n    uri: qemu+ssh://root@host/system\n"
                           "    set_stats_period: false\n    stats_period_s: 0\n"
                           "    reconnect_max_s: 60\n",
                       "demo.yaml");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->channel.libvirt.uri, "qemu+ssh://root@host/system");
  EXPECT_FALSE(config->channel.libvirt.set_stats_period);
  EXPECT_EQ(config->channel.libvirt.reconnect_max_s, 60);

  EXPECT_EQ(errorOf(head + "  libvirt: {uri: \"vmware://esx/\"}\n"),
            "demo.yaml:4:18: channel.libvirt.uri: unknown URI scheme 'vmware' (drivers with "
            "balloon support: qemu, xen, test)");
  EXPECT_EQ(errorOf(head + "  libvirt: {uri: \"qemu+carrier://host/system\"}\n"),
            "demo.yaml:4:18: channel.libvirt.uri: unknown transport 'carrier' in URI scheme "
            "'qemu+carrier' (known: unix, ssh, tls, tcp, libssh, libssh2, ext)");
  EXPECT_EQ(errorOf(head + "  libvirt: {uri: \"/var/run/libvirt\"}\n"),
            "demo.yaml:4:18: channel.libvirt.uri: expected a libvirt URI such as qemu:///system, "
            "got '/var/run/libvirt'");
  EXPECT_EQ(errorOf(head + "  libvirt: {stats_period_s: 1.5}\n"),
            "demo.yaml:4:29: channel.libvirt.stats_period_s: libvirt takes whole seconds, got 1.5");
  EXPECT_EQ(errorOf(head + "  libvirt: {stats_period_s: 0}\n"),
            "demo.yaml:4:29: channel.libvirt.stats_period_s: must be at least 1 when "
            "set_stats_period is true");
  EXPECT_EQ(errorOf(head + "  libvirt: {reconnect_max_s: 0}\n"),
            "demo.yaml:4:30: channel.libvirt.reconnect_max_s: must be between 1 and 3600, got 0");
}

// A QMP channel: its head (4 lines) up to the socket list's entries, which start on line 5.
const std::string kQmpHead = "policy: {name: test-fake}\nchannel:\n  type: qmp\n  qmp:\n";

TEST(LoaderTest, QmpChannelDefaults) {
  auto config =
      parseConfig(kQmpHead + "    sockets:\n      - glob: /run/qemu/*.qmp\n", "demo.yaml");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->channel.type, "qmp");
  const QmpSpec& qmp = config->channel.qmp;
  ASSERT_EQ(qmp.sockets.size(), 1U);
  EXPECT_EQ(qmp.sockets[0].glob, "/run/qemu/*.qmp");
  EXPECT_EQ(qmp.sockets[0].mode, "shared");
  EXPECT_EQ(qmp.sockets[0].name_from, "qemu");
  EXPECT_EQ(qmp.deadline_s, 0.5);
  EXPECT_TRUE(qmp.set_stats_period);
  EXPECT_EQ(qmp.stats_period_s, 2);
  EXPECT_EQ(qmp.reconnect_max_s, 30);
  EXPECT_FALSE(config->state_dir);  // the channel's default is chosen when the config is compiled
}

TEST(LoaderTest, QmpChannelReadsEveryKey) {
  auto config = parseConfig(kQmpHead + R"(    sockets:
      - glob: /var/run/qemu-server/*.qmp
        mode: shared
        name_from: socket
      - {glob: "/run/balloond/qmp/vm[0-9]?.qmp", mode: exclusive, name_from: qemu}
    deadline_s: 0.25
    set_stats_period: false
    stats_period_s: 0
    reconnect_max_s: 120
)",
                            "demo.yaml");
  ASSERT_TRUE(config.ok()) << config.error().message;
  const QmpSpec& qmp = config->channel.qmp;
  EXPECT_EQ(qmp.sockets, (std::vector<QmpSocketSpec>{
                             {"/var/run/qemu-server/*.qmp", "shared", "socket"},
                             {"/run/balloond/qmp/vm[0-9]?.qmp", "exclusive", "qemu"},
                         }));
  EXPECT_EQ(qmp.deadline_s, 0.25);
  EXPECT_FALSE(qmp.set_stats_period);
  EXPECT_EQ(qmp.stats_period_s, 0);
  EXPECT_EQ(qmp.reconnect_max_s, 120);
}

TEST(LoaderTest, QmpChannelNeedsASocketGlob) {
  EXPECT_EQ(errorOf("policy: {name: test-fake}\nchannel:\n  type: qmp\n"),
            "demo.yaml:3:3: channel: missing required key 'qmp'");
  EXPECT_EQ(errorOf(kQmpHead + "    deadline_s: 0.2\n"),
            "demo.yaml:5:5: channel.qmp.sockets: must list at least one socket glob");
  EXPECT_EQ(errorOf(kQmpHead + "    sockets: []\n"),
            "demo.yaml:5:14: channel.qmp.sockets: must list at least one socket glob");
  // The type may come after the section, and another type needs no socket.
  EXPECT_EQ(errorOf("policy: {name: test-fake}\nchannel:\n  qmp: {sockets: []}\n  type: qmp\n"),
            "demo.yaml:3:18: channel.qmp.sockets: must list at least one socket glob");
  EXPECT_EQ(errorOf("policy: {name: test-fake}\nchannel:\n  type: libvirt\n  qmp: {}\n"), "ok");
}

TEST(LoaderTest, QmpSocketEntries) {
  const std::string head = kQmpHead + "    sockets:\n";  // the first entry is on line 6
  EXPECT_EQ(errorOf(head + "      - glob: run/qemu/*.qmp\n"),
            "demo.yaml:6:15: channel.qmp.sockets[0].glob: must be an absolute path (a glob such "
            "as /var/run/qemu-server/*.qmp), got 'run/qemu/*.qmp'");
  EXPECT_EQ(errorOf(head + "      - glob: \"\"\n"),
            "demo.yaml:6:15: channel.qmp.sockets[0].glob: must be an absolute path (a glob such "
            "as /var/run/qemu-server/*.qmp), got ''");
  EXPECT_EQ(errorOf(head + "      - glob: \"/run/qemu/\\0.qmp\"\n"),
            "demo.yaml:6:15: channel.qmp.sockets[0].glob: must not contain a NUL character");
  EXPECT_EQ(errorOf(head + "      - mode: shared\n"),
            "demo.yaml:6:9: channel.qmp.sockets[0]: missing required key 'glob'");
  EXPECT_EQ(errorOf(head + "      - /run/qemu/*.qmp\n"),
            "demo.yaml:6:9: channel.qmp.sockets[0]: expected a map, got '/run/qemu/*.qmp'");
  EXPECT_EQ(errorOf(head + "      - {glob: /a/*.qmp, mode: private}\n"),
            "demo.yaml:6:32: channel.qmp.sockets[0].mode: unknown socket mode 'private' (known: "
            "shared, exclusive)");
  EXPECT_EQ(errorOf(head + "      - {glob: /a/*.qmp, name_from: vmid}\n"),
            "demo.yaml:6:37: channel.qmp.sockets[0].name_from: unknown name source 'vmid' "
            "(known: qemu, socket)");
  EXPECT_EQ(errorOf(head + "      - {glob: /a/*.qmp, path: /b}\n"),
            "demo.yaml:6:26: channel.qmp.sockets[0].path: unknown key (known: glob, mode, "
            "name_from)");
  // The second entry with a glob is the one reported.
  EXPECT_EQ(errorOf(head + "      - {glob: /a/*.qmp}\n      - {glob: /b/*.qmp}\n"
                           "      - {glob: /a/*.qmp, mode: exclusive}\n"),
            "demo.yaml:8:16: channel.qmp.sockets[2].glob: duplicate glob '/a/*.qmp' (also in "
            "sockets[0])");
}

TEST(LoaderTest, QmpDeadlineIsInRangeAndBelowTheTick) {
  const std::string sockets = "    sockets: [{glob: /a/*.qmp}]\n";
  EXPECT_EQ(errorOf(kQmpHead + sockets + "    deadline_s: 0\n"),
            "demo.yaml:6:17: channel.qmp.deadline_s: must be above 0 and at most 60, got 0");
  EXPECT_EQ(errorOf(kQmpHead + sockets + "    deadline_s: 61\n"),
            "demo.yaml:6:17: channel.qmp.deadline_s: must be above 0 and at most 60, got 61");
  EXPECT_EQ(errorOf(kQmpHead + sockets + "    deadline_s: 1\n"),
            "demo.yaml:6:17: channel.qmp.deadline_s: must be below tick_s (1), got 1");
  // tick_s may come after the channel; an unwritten deadline is checked at its section.
  EXPECT_EQ(errorOf(kQmpHead + sockets + "    deadline_s: 0.5\ntick_s: 0.4\n"),
            "demo.yaml:6:17: channel.qmp.deadline_s: must be below tick_s (0.4), got 0.5");
  EXPECT_EQ(errorOf("tick_s: 0.5\n" + kQmpHead + sockets),
            "demo.yaml:6:5: channel.qmp.deadline_s: must be below tick_s (0.5), got 0.5 (the "
            "default)");
  auto fast = parseConfig("tick_s: 0.5\n" + kQmpHead + sockets + "    deadline_s: 0.3\n", "x");
  ASSERT_TRUE(fast.ok()) << fast.error().message;
  EXPECT_EQ(fast->channel.qmp.deadline_s, 0.3);
  // Another channel: only a deadline that is written is held to the tick.
  EXPECT_EQ(errorOf("tick_s: 0.2\n" + kBase), "ok");
  EXPECT_EQ(errorOf("tick_s: 0.2\n" + kBase + "  qmp: {deadline_s: 0.2}\n"),
            "demo.yaml:8:21: channel.qmp.deadline_s: must be below tick_s (0.2), got 0.2");
}

// The stats period follows libvirt's rules, with QEMU named as the one taking whole seconds.
TEST(LoaderTest, QmpStatsPeriodAndReconnect) {
  const std::string head = kQmpHead + "    sockets: [{glob: /a/*.qmp}]\n";
  EXPECT_EQ(errorOf(head + "    stats_period_s: 1.5\n"),
            "demo.yaml:6:21: channel.qmp.stats_period_s: QEMU takes whole seconds, got 1.5");
  EXPECT_EQ(errorOf(head + "    stats_period_s: 0\n"),
            "demo.yaml:6:21: channel.qmp.stats_period_s: must be at least 1 when "
            "set_stats_period is true");
  EXPECT_EQ(errorOf(head + "    stats_period_s: 3601\n"),
            "demo.yaml:6:21: channel.qmp.stats_period_s: must be between 0 and 3600, got 3601");
  EXPECT_EQ(errorOf(head + "    set_stats_period: maybe\n"),
            "demo.yaml:6:23: channel.qmp.set_stats_period: expected true or false, got 'maybe'");
  EXPECT_EQ(errorOf(head + "    reconnect_max_s: 0\n"),
            "demo.yaml:6:22: channel.qmp.reconnect_max_s: must be between 1 and 3600, got 0");
  EXPECT_EQ(errorOf(head + "    reconnect_max_s: 3601\n"),
            "demo.yaml:6:22: channel.qmp.reconnect_max_s: must be between 1 and 3600, got 3601");
}

TEST(LoaderTest, SimVmList) {
  const std::string head = "policy: {name: test-fake}\nchannel:\n  sim:\n    total_mib: 4096\n";
  EXPECT_EQ(errorOf(head + "    vms: []\n"),
            "demo.yaml:5:10: channel.sim.vms: must list at least one VM");
  EXPECT_EQ(errorOf(head + "    vms:\n"),
            "demo.yaml:5:5: channel.sim.vms: must list at least one VM");
  EXPECT_EQ(errorOf(head + "    vms:\n      -\n"),
            "demo.yaml:6:7: channel.sim.vms[0]: missing required key 'name'");
}

TEST(LoaderTest, VmNames) {
  EXPECT_EQ(errorOf(kHead + "      - {name: a, max_mib: 1024}\n      - {name: a, max_mib: 1024}\n"),
            "demo.yaml:7:16: channel.sim.vms[1].name: duplicate VM name 'a'");
  EXPECT_EQ(errorOf(kHead + "      - name: \"web 1\"\n        max_mib: 1024\n"),
            "demo.yaml:6:15: channel.sim.vms[0].name: must be letters, digits, '_', '.' or '-', "
            "got 'web 1'");
  EXPECT_EQ(errorOf(kHead + "      - name: \"\"\n        max_mib: 1024\n"),
            "demo.yaml:6:15: channel.sim.vms[0].name: must be letters, digits, '_', '.' or '-', "
            "got ''");
  EXPECT_EQ(errorOf(kHead + "      - {name: web-1.a_b, max_mib: 1024}\n"), "ok");
}

TEST(LoaderTest, VmChecksBetweenKeys) {
  EXPECT_EQ(
      errorOf(kHead + R"(      - name: a
        max_mib: 1024
        actual_mib: 2048
)"),
      "demo.yaml:8:21: channel.sim.vms[0].actual_mib: must be at most max_mib (1024), got 2048");
  EXPECT_EQ(errorOf(kHead + R"(      - name: a
        max_mib: 1024
        start_s: 20
        stop_s: 10
)"),
            "demo.yaml:9:17: channel.sim.vms[0].stop_s: must be above start_s (20), got 10");
}

TEST(LoaderTest, DriverModel) {
  EXPECT_EQ(errorOf(kHead + R"(      - name: a
        max_mib: 1024
        driver:
          model: turbo
)"),
            "demo.yaml:9:18: channel.sim.vms[0].driver.model: unknown driver model 'turbo' "
            "(known: ideal, slow, stuck, intermittent, hidden-floor, hidden-ceiling, no-driver, "
            "stale-stats, lying)");
}

// A VM named a whose workload has the given phases (indented 12 spaces); the first is on line 10.
std::string withPhases(const std::string& phases) {
  return kHead + "      - name: a\n        max_mib: 1024\n        workload:\n          phases:\n" +
         phases;
}

TEST(LoaderTest, PhaseKind) {
  EXPECT_EQ(errorOf(withPhases("            - mib: 100\n")),
            "demo.yaml:10:15: channel.sim.vms[0].workload.phases[0]: missing required key 'kind'");
  EXPECT_EQ(errorOf(withPhases("            - kind: burst\n")),
            "demo.yaml:10:21: channel.sim.vms[0].workload.phases[0].kind: unknown phase kind "
            "'burst' (known: constant, ramp, spike, periodic)");
  EXPECT_EQ(errorOf(withPhases("            - 5\n")),
            "demo.yaml:10:15: channel.sim.vms[0].workload.phases[0]: expected a map, got '5'");
}

TEST(LoaderTest, PhaseAcceptsOnlyItsOwnKeys) {
  EXPECT_EQ(errorOf(withPhases(R"(            - kind: constant
              mib: 100
              peak_mib: 200
)")),
            "demo.yaml:12:15: channel.sim.vms[0].workload.phases[0].peak_mib: unknown key for a "
            "constant phase (known: kind, duration_s, mib)");
  // `kind` may come after the other keys.
  EXPECT_EQ(errorOf(withPhases("            - {from_mib: 1, to_mib: 2, kind: ramp}\n")), "ok");
  EXPECT_EQ(errorOf(withPhases("            - {kind: ramp, from_mib: 1}\n")),
            "demo.yaml:10:15: channel.sim.vms[0].workload.phases[0]: missing required key "
            "'to_mib'");
}

TEST(LoaderTest, OnlyTheLastPhaseLastsForever) {
  EXPECT_EQ(errorOf(withPhases(R"(            - kind: constant
              mib: 100
            - kind: constant
              mib: 200
)")),
            "demo.yaml:10:15: channel.sim.vms[0].workload.phases[0].duration_s: only the last "
            "phase may last forever (0 or unset)");
  EXPECT_EQ(errorOf(withPhases(R"(            - kind: constant
              mib: 100
              duration_s: 0
            - kind: constant
              mib: 200
)")),
            "demo.yaml:12:27: channel.sim.vms[0].workload.phases[0].duration_s: only the last "
            "phase may last forever (0 or unset)");
}

TEST(LoaderTest, PeriodicPhase) {
  EXPECT_EQ(errorOf(withPhases(R"(            - kind: periodic
              low_mib: 800
              high_mib: 200
              period_s: 60
)")),
            "demo.yaml:12:25: channel.sim.vms[0].workload.phases[0].high_mib: must be at least "
            "low_mib (800), got 200");
  EXPECT_EQ(errorOf(withPhases(R"(            - kind: periodic
              low_mib: 200
              high_mib: 800
              period_s: 0
)")),
            "demo.yaml:13:25: channel.sim.vms[0].workload.phases[0].period_s: must be above 0 and "
            "at most 31536000, got 0");
}

TEST(LoaderTest, SpikeMustEndWithinItsPhase) {
  const std::string spike = R"(            - kind: spike
              mib: 100
              peak_mib: 500
              at_s: 8
              length_s: 5
)";
  EXPECT_EQ(errorOf(withPhases(spike + "              duration_s: 10\n")),
            "demo.yaml:14:25: channel.sim.vms[0].workload.phases[0].length_s: at_s + length_s "
            "must be at most duration_s (10), got 13");
  EXPECT_EQ(errorOf(withPhases(spike + "              duration_s: 13\n")), "ok");
  EXPECT_EQ(errorOf(withPhases(spike)), "ok");  // a phase that lasts forever
}

TEST(LoaderTest, Overrides) {
  EXPECT_EQ(errorOf(kBase + R"(vms:
  - match: "web*"
    floor_mib: 512
    ceiling_mib: 256
)"),
            "demo.yaml:10:18: vms[0].ceiling_mib: must be at least floor_mib (512), got 256");
  EXPECT_EQ(errorOf(kBase + "vms:\n  - match: \"\"\n"),
            "demo.yaml:8:12: vms[0].match: must not be empty");
  EXPECT_EQ(errorOf(kBase + "vms:\n  - floor_mib: 512\n"),
            "demo.yaml:8:5: vms[0]: missing required key 'match'");
}

TEST(LoaderTest, PolicyProblemsComeFromTheRegistry) {
  const std::string channel = R"(channel:
  sim:
    total_mib: 4096
    vms:
      - {name: a, max_mib: 1024}
tick_s: 1
guards:
  min_change_mib: 8
)";
  auto unknown = policy::Registry::instance().resolveParams("foo", {});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(errorOf(channel + "policy:\n  name: foo\n"),
            "demo.yaml:10:9: policy.name: " + unknown.error().message);
  EXPECT_EQ(errorOf(channel + "policy:\n  name: test-fake\n  params: {gain: 2}\n"),
            "demo.yaml:11:18: policy.params.gain: parameter 'gain' of policy 'test-fake' must be "
            "between 0 and 1, got 2");
  EXPECT_EQ(errorOf(channel + "policy:\n  name: test-fake\n  params: {gian: 0.1}\n"),
            "demo.yaml:11:12: policy.params.gian: unknown parameter 'gian' for policy 'test-fake' "
            "(known: gain, limit)");
  EXPECT_EQ(errorOf(channel + "policy:\n  name: test-fake\n  params:\n    gain: high\n"),
            "demo.yaml:12:11: policy.params.gain: expected a number, got 'high'");
  EXPECT_EQ(errorOf(channel + "policy:\n  name: test-fake\n  params: 0.5\n"),
            "demo.yaml:11:11: policy.params: expected a map, got '0.5'");
}

TEST(LoaderTest, NeverThrows) {
  const std::string inputs[] = {
      "{",           "[",          "\t",         "\xff\xfe\x00", "*unknown_alias",
      "&a [*a, *a]", "!!binary x", "? [a]\n: 1", "---\n---\n",   std::string(5000, '[')};
  for (const auto& text : inputs) {
    EXPECT_NO_THROW({
      auto config = parseConfig(text, "bad.yaml");
      EXPECT_FALSE(config.ok()) << text;
    });
  }
}

TEST(LoaderTest, LoadFileReportsUnreadableFiles) {
  const std::string missing = ::testing::TempDir() + "/no-such-balloond.yaml";
  auto config = loadConfigFile(missing);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error().message, missing + ": cannot read: " + std::strerror(ENOENT));

  auto dir = loadConfigFile(::testing::TempDir());
  ASSERT_FALSE(dir.ok());
  EXPECT_EQ(dir.error().message, ::testing::TempDir() + ": cannot read: " + std::strerror(EISDIR));
}

TEST(LoaderTest, LoadFileNamesTheFileInMessages) {
  const std::string path = ::testing::TempDir() + "/loader_test.yaml";
  std::ofstream(path) << kBase;
  auto config = loadConfigFile(path);
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->source, path);

  std::ofstream(path) << "tick_s: 0\n" << kBase;
  auto bad = loadConfigFile(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, path + ":1:9: tick_s: must be between 0.05 and 60, got 0");
}

TEST(LoaderTest, StateDirIsAnAbsolutePathAndUnsetByDefault) {
  auto unset = parseConfig(kBase, "demo.yaml");
  ASSERT_TRUE(unset.ok()) << unset.error().message;
  EXPECT_FALSE(unset->state_dir);
  auto set = parseConfig("state_dir: /srv/balloond\n" + kBase, "demo.yaml");
  ASSERT_TRUE(set.ok()) << set.error().message;
  EXPECT_EQ(set->state_dir, "/srv/balloond");
  EXPECT_EQ(errorOf("state_dir: var/lib\n" + kBase),
            "demo.yaml:1:12: state_dir: must be an absolute path, got 'var/lib'");
}

// The example configs use the margin policy, which the real test binary links.
TEST(LoaderTest, ReferenceConfigLoads) {
  auto config = loadConfigFile(BALLOOND_SOURCE_DIR "/config/examples/balloond.yaml");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->policy.name, "margin");
  EXPECT_EQ(config->channel.sim.vms.at(0).workload.phases.size(), 4u);
}

// The config the package installs as /etc/balloond/balloond.yaml: a libvirt host, the unit's
// state directory and the control group the unit's SupplementaryGroups= allows.
TEST(LoaderTest, InstalledHostConfigLoads) {
  auto config = loadConfigFile(BALLOOND_SOURCE_DIR "/config/examples/libvirt-host.yaml");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->channel.type, "libvirt");
  EXPECT_EQ(config->channel.libvirt.uri, "qemu:///system");
  EXPECT_EQ(config->state_dir, "/var/lib/balloond");
  EXPECT_EQ(config->control.socket, "/run/balloond/control.sock");
  EXPECT_EQ(config->control.group, "balloond");
  EXPECT_TRUE(config->vms.empty());
}

// The QMP host example (Proxmox VE's sockets, shared, named by vmid), installed with the docs.
TEST(LoaderTest, QmpHostConfigLoads) {
  auto config = loadConfigFile(BALLOOND_SOURCE_DIR "/config/examples/qmp-host.yaml");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->channel.type, "qmp");
  EXPECT_EQ(config->channel.qmp.sockets,
            (std::vector<QmpSocketSpec>{{"/var/run/qemu-server/[0-9]*.qmp", "shared", "socket"}}));
  EXPECT_LT(config->channel.qmp.deadline_s, config->tick_s);
  EXPECT_EQ(config->state_dir, "/var/lib/balloond");
  EXPECT_EQ(config->control.group, "balloond");
  EXPECT_EQ(config->policy.name, "margin");
}

TEST(LoaderTest, DemoConfigLoadsAndIsOvercommitted) {
  auto config = loadConfigFile(BALLOOND_SOURCE_DIR "/config/examples/demo.yaml");
  ASSERT_TRUE(config.ok()) << config.error().message;
  const SimHostSpec& sim = config->channel.sim;
  ASSERT_EQ(sim.vms.size(), 8u);
  double sum_max = 0;
  double sum_actual = 0;
  int late = 0;
  int stopping = 0;
  int with_swap = 0;
  for (const auto& vm : sim.vms) {
    sum_max += vm.max_mib;
    sum_actual += vm.start_s > 0 ? 0 : vm.actual_mib.value_or(vm.max_mib);
    late += vm.start_s > 0 ? 1 : 0;
    stopping += vm.stop_s ? 1 : 0;
    with_swap += vm.swap_mib > 0 ? 1 : 0;
  }
  EXPECT_GT(sum_max, sim.total_mib);  // overcommitted
  // The VMs there at the start fit, but leave the host under its reserve: balloond must reclaim.
  const double host_use = sim.overhead_mib + sim.per_vm_overhead_mib * (8 - late);
  EXPECT_LE(sum_actual + host_use, sim.total_mib);
  EXPECT_GT(sum_actual + host_use + config->guards.host_reserve_mib, sim.total_mib);
  EXPECT_EQ(late, 1);
  EXPECT_EQ(stopping, 1);
  EXPECT_GE(with_swap, 2);
  EXPECT_EQ(config->policy.name, "margin");
}

TEST(LoaderTest, SharesAndTheRelativeAndEmergencySteps) {
  auto config = parseConfig(kBase + R"(guards:
  inflate_step_fraction: 0.1
  emergency_step_factor: 3
vms:
  - match: "gold*"
    shares: 4000
)",
                            "demo.yaml");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->guards.inflate_step_fraction, 0.1);
  EXPECT_EQ(config->guards.emergency_step_factor, 3);
  EXPECT_EQ(config->vms.at(0).shares, 4000);
  EXPECT_EQ(parseConfig(kBase, "demo.yaml")->guards.inflate_step_fraction, 0.25);

  EXPECT_EQ(errorOf(kBase + "vms:\n  - match: a\n    shares: 0\n"),
            "demo.yaml:9:13: vms[0].shares: must be above 0 and at most 1e+06, got 0");
  EXPECT_EQ(errorOf(kBase + "vms:\n  - match: a\n    shares: lots\n"),
            "demo.yaml:9:13: vms[0].shares: expected a number, got 'lots'");
  EXPECT_EQ(errorOf(kBase + "guards:\n  inflate_step_fraction: 0\n"),
            "demo.yaml:8:26: guards.inflate_step_fraction: must be above 0 and at most 1, got 0");
  EXPECT_EQ(errorOf(kBase + "guards:\n  emergency_step_factor: 0.5\n"),
            "demo.yaml:8:26: guards.emergency_step_factor: must be between 1 and 100, got 0.5");
}

}  // namespace
}  // namespace balloond::config
