// SPDX-License-Identifier: Apache-2.0
#include "daemon/admin/commands.h"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include "config/loader.h"
#include "daemon/compile.h"
#include "proto/codec.h"
#include "tests/daemon/fake_channel.h"

namespace balloond {
namespace {

using control::Request;
using control::ResultCode;
using nlohmann::json;

// The daemon as the commands see it: a real controller on a fake channel; reloads are recorded.
class FakeDaemon : public DaemonAccess {
 public:
  FakeDaemon() {
    config_.source = "test.yaml";
    config_.policy.name = "margin";
    config_.policy.params["peak_window_s"] = 0;  // the rule alone, from the first report
    config_.guards.inflate_step_mib = 128;
    channel.setHost(10, 16384, 8192);
    channel.addVm("idle", 2048, 2048, 1800);
    channel.addVm("busy", 2048, 2048, 400);
    auto compiled = compile(config_);
    controller_ = std::make_unique<Controller>(channel, std::move(compiled->policy),
                                               std::move(compiled->settings));
  }
  Controller& controller() override {
    if (throw_from_controller) {
      throw std::runtime_error("boom");
    }
    return *controller_;
  }
  const config::Config& config() const override { return config_; }
  void setConfig(config::Config config) { config_ = std::move(config); }
  control::DaemonInfo info() const override {
    control::DaemonInfo d;
    d.version = "test";
    d.channel = "fake";
    return d;
  }
  // An absolute path is really read, through `check`, as the daemon would.
  Status reload(const std::string& path, bool apply, const config::FileCheck& check) override {
    reloads.emplace_back(path, apply);
    if (path == "bad.yaml") {
      return Error{"bad.yaml:1:1: tick_s: must be between 0.05 and 60, got 0"};
    }
    if (path.starts_with("/")) {
      auto loaded = config::loadConfigFile(path, check);
      if (!loaded) {
        return loaded.error();
      }
    }
    return Ok{};
  }
  // Advances the fake clock one second and runs a tick.
  TickReport tick() {
    channel.snapshot.time_s += 1;
    for (auto& vm : channel.snapshot.vms) {
      vm.guest.last_update_s = channel.snapshot.time_s;
    }
    return controller_->tick();
  }

  testing::FakeChannel channel;
  std::vector<std::pair<std::string, bool>> reloads;
  bool throw_from_controller = false;

 private:
  config::Config config_;
  std::unique_ptr<Controller> controller_;
};

const Peer kAdmin{.uid = 0, .gid = 0, .pid = 1, .admin = true};
const Peer kReader{.uid = 1000, .gid = 1000, .pid = 2, .admin = false};

class CommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    spdlog::set_level(spdlog::level::off);
    daemon.tick();
  }
  control::Response call(const std::string& command, json args = json::object(),
                         const Peer& peer = kAdmin) {
    return dispatcher.handle(Request{.command = command, .arguments = std::move(args)}, peer);
  }
  FakeDaemon daemon;
  Dispatcher dispatcher{daemon};
};

TEST_F(CommandsTest, ListCommandsNamesEveryCommandAndWhetherItMutates) {
  auto r = call("list-commands");
  ASSERT_EQ(r.result, ResultCode::kOk);
  const json& list = r.arguments.at("commands");
  std::vector<std::string> names;
  for (const auto& c : list) {
    names.push_back(c.at("name"));
    if (c.at("name") == "vm-set" || c.at("name") == "daemon-pause") {
      EXPECT_TRUE(c.at("mutating").get<bool>());
    }
    if (c.at("name") == "vm-list" || c.at("name") == "status-get") {
      EXPECT_FALSE(c.at("mutating").get<bool>());
    }
  }
  EXPECT_EQ(names,
            (std::vector<std::string>{"list-commands", "status-get", "vm-list", "vm-get", "vm-set",
                                      "config-get", "config-test", "config-reload", "daemon-pause",
                                      "daemon-resume", "snapshot-get", "reclaim", "reclaim-get"}));
}

TEST_F(CommandsTest, UnknownCommandsAndBadLinesGetTheirCodes) {
  EXPECT_EQ(call("vm-explode").result, ResultCode::kUnknownCommand);
  EXPECT_EQ(dispatcher.handleLine("{\"command\": ", kAdmin),
            "{\"result\":1,\"text\":\"malformed JSON: expected one JSON object per line\"}\n");
  auto r = call("vm-list", {{"verbose", true}});
  EXPECT_EQ(r.result, ResultCode::kError);
  EXPECT_EQ(r.text, "unknown argument 'verbose' (this command takes none)");
  r = call("vm-get", {{"name", 7}});
  EXPECT_EQ(r.result, ResultCode::kError);
  EXPECT_EQ(r.text, "argument 'name': expected a non-empty string, got number");
}

TEST_F(CommandsTest, AnExceptionInAHandlerBecomesResultOne) {
  daemon.throw_from_controller = true;
  auto r = call("vm-list");
  EXPECT_EQ(r.result, ResultCode::kError);
  EXPECT_EQ(r.text, "'vm-list' failed: boom");
}

TEST_F(CommandsTest, MutatingCommandsNeedAnAdminPeer) {
  for (const char* cmd :
       {"vm-set", "config-test", "config-reload", "daemon-pause", "daemon-resume"}) {
    EXPECT_EQ(call(cmd, json::object(), kReader).result, ResultCode::kForbidden) << cmd;
  }
  for (const char* cmd : {"list-commands", "status-get", "vm-list", "config-get", "snapshot-get"}) {
    EXPECT_EQ(call(cmd, json::object(), kReader).result, ResultCode::kOk) << cmd;
  }
  EXPECT_FALSE(daemon.controller().paused());
}

TEST_F(CommandsTest, StatusCountsVmsByStateAndSumsReclaimed) {
  auto r = call("status-get");
  ASSERT_EQ(r.result, ResultCode::kOk);
  auto info = control::daemonInfoFromJson(r.arguments);
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_EQ(info->version, "test");
  EXPECT_EQ(info->host.available_kib, mibToKib(8192));
  EXPECT_EQ(info->vms_by_state,
            (std::map<std::string, int64_t>{{"converging", 1}, {"settled", 1}}));
  EXPECT_EQ(info->reclaimed_kib, 0);
}

TEST_F(CommandsTest, VmGetShowsStatsAndTheLastDecisions) {
  for (int i = 0; i < 3; ++i) {
    daemon.channel.snapshot.vms[0].actual_kib -= mibToKib(128);
    daemon.channel.snapshot.vms[0].guest.available_kib =
        *daemon.channel.snapshot.vms[0].guest.available_kib - mibToKib(128);
    daemon.tick();
  }
  auto r = call("vm-get", {{"name", "idle"}, {"decisions", 2}});
  ASSERT_EQ(r.result, ResultCode::kOk) << r.text;
  auto vm = control::vmInfoFromJson(r.arguments);
  ASSERT_TRUE(vm.ok()) << vm.error().message;
  ASSERT_EQ(vm->decisions.size(), 2U);
  EXPECT_EQ(vm->decisions[1].to_kib, vm->target_kib);
  EXPECT_EQ(vm->decisions[1].from_kib, vm->decisions[0].to_kib);
  EXPECT_EQ(vm->decisions[1].reason, "available-above-margin/inflate-step");
  ASSERT_TRUE(vm->stats.has_value());
  EXPECT_EQ(vm->stats->available_kib, daemon.channel.snapshot.vms[0].guest.available_kib);

  EXPECT_EQ(call("vm-get", {{"name", "ghost"}}).result, ResultCode::kEmpty);
  EXPECT_EQ(call("vm-get", {{"name", "idle"}, {"decisions", 99}}).result, ResultCode::kError);
}

TEST_F(CommandsTest, APinIsAppliedThroughTheGuardsAndPersistsUntilCleared) {
  auto r = call("vm-set", {{"name", "busy"}, {"pin_mib", 1024}});
  ASSERT_EQ(r.result, ResultCode::kOk) << r.text;
  // A pin is a floor and a ceiling; the ceiling guard comes last, so the target goes straight
  // to the pin (no step limit above a ceiling) and its reason says which guard put it there.
  daemon.tick();
  auto vm = control::vmInfoFromJson(call("vm-get", {{"name", "busy"}}).arguments);
  EXPECT_EQ(vm->target_kib, mibToKib(1024));
  EXPECT_EQ(vm->floor_kib, mibToKib(1024));
  EXPECT_EQ(vm->ceiling_kib, mibToKib(1024));
  EXPECT_EQ(vm->reason, "available-within-margin/ceiling");
  EXPECT_EQ(vm->runtime_override.pin_kib, mibToKib(1024));
  EXPECT_EQ(daemon.channel.pushes.back(),
            (std::pair<std::string, int64_t>{"busy", mibToKib(1024)}));
  // vm-list shows it too, and it survives a reconfigure.
  auto list = call("vm-list");
  EXPECT_EQ(list.arguments.at("vms")[1].at("runtime_override").at("pin_kib"), mibToKib(1024));
  auto compiled = compile(daemon.config());
  daemon.controller().reconfigure(std::move(compiled->policy), std::move(compiled->settings));
  daemon.tick();
  EXPECT_EQ(daemon.controller().runtimeOverrides().count("busy"), 1U);

  r = call("vm-set", {{"name", "busy"}, {"clear", true}});
  EXPECT_EQ(r.text, "overrides cleared");
  EXPECT_TRUE(daemon.controller().runtimeOverrides().empty());
}

TEST_F(CommandsTest, VmSetChecksItsArguments) {
  EXPECT_EQ(call("vm-set", {{"name", "ghost"}, {"floor_mib", 1}}).result, ResultCode::kEmpty);
  EXPECT_EQ(call("vm-set", {{"name", "idle"}, {"pin_mib", 4096}}).text,
            "pin_mib must be at most the VM's max (2048 MiB)");
  EXPECT_EQ(call("vm-set", {{"name", "idle"}, {"floor_mib", 900}, {"ceiling_mib", 800}}).text,
            "floor_mib must be at most ceiling_mib");
  EXPECT_EQ(call("vm-set", {{"name", "idle"}, {"floor_mib", -1}}).result, ResultCode::kError);
  EXPECT_EQ(call("vm-set", {{"name", "idle"}, {"excluded", "yes"}}).text,
            "argument 'excluded': expected true or false, got string");
  EXPECT_TRUE(daemon.controller().runtimeOverrides().empty());
}

TEST_F(CommandsTest, ExcludingAtRuntimeStopsPushesToThatVm) {
  ASSERT_EQ(call("vm-set", {{"name", "idle"}, {"excluded", true}}).result, ResultCode::kOk);
  daemon.channel.pushes.clear();
  daemon.tick();
  daemon.tick();
  for (const auto& [vm, kib] : daemon.channel.pushes) {
    EXPECT_NE(vm, "idle");
  }
  auto vm = control::vmInfoFromJson(call("vm-get", {{"name", "idle"}}).arguments);
  EXPECT_EQ(vm->state, "excluded");
  ASSERT_EQ(call("vm-set", {{"name", "idle"}, {"excluded", false}}).result, ResultCode::kOk);
  daemon.tick();
  EXPECT_EQ(call("vm-get", {{"name", "idle"}}).arguments.at("state"), "converging");
}

TEST_F(CommandsTest, PauseStopsTargetChangesAndRestoreGivesEveryVmItsMax) {
  ASSERT_EQ(call("daemon-pause").result, ResultCode::kOk);
  daemon.channel.pushes.clear();
  daemon.channel.snapshot.vms[0].guest.available_kib = mibToKib(1900);
  daemon.tick();
  EXPECT_TRUE(daemon.channel.pushes.empty());
  EXPECT_EQ(call("status-get").text, "paused");

  auto r = call("daemon-pause", {{"restore", true}});
  EXPECT_EQ(r.arguments.at("restored"), 1);  // idle was shrunk before the pause
  ASSERT_EQ(daemon.channel.pushes.size(), 1U);
  EXPECT_EQ(daemon.channel.pushes[0], (std::pair<std::string, int64_t>{"idle", mibToKib(2048)}));
  EXPECT_EQ(call("vm-get", {{"name", "idle"}}).arguments.at("reason"), "operator-restore");

  ASSERT_EQ(call("daemon-resume").result, ResultCode::kOk);
  EXPECT_FALSE(daemon.controller().paused());
}

TEST_F(CommandsTest, ConfigTestAndReloadShareTheReloadPath) {
  EXPECT_EQ(call("config-test", {{"path", "other.yaml"}}).text, "other.yaml: ok");
  auto r = call("config-test", {{"path", "bad.yaml"}});
  EXPECT_EQ(r.result, ResultCode::kError);
  EXPECT_EQ(r.text, "bad.yaml:1:1: tick_s: must be between 0.05 and 60, got 0");
  EXPECT_EQ(call("config-reload").text, "reloaded test.yaml");
  EXPECT_EQ(daemon.reloads, (std::vector<std::pair<std::string, bool>>{
                                {"other.yaml", false}, {"bad.yaml", false}, {"", true}}));
  EXPECT_EQ(call("config-reload", {{"path", "x"}}).result, ResultCode::kError);
}

TEST_F(CommandsTest, ReclaimStartsAPlanAndReclaimGetFollowsIt) {
  EXPECT_EQ(call("reclaim-get").result, ResultCode::kEmpty);
  EXPECT_EQ(call("reclaim", {{"mib", 64}}, kReader).result, ResultCode::kForbidden);
  EXPECT_EQ(call("reclaim").text, "argument 'mib': missing");
  EXPECT_EQ(call("reclaim", {{"mib", 0}}).result, ResultCode::kError);

  auto r = call("reclaim", {{"mib", 256}});
  ASSERT_EQ(r.result, ResultCode::kOk) << r.text;
  auto info = control::reclaimInfoFromJson(r.arguments);
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_EQ(info->outcome, "in-progress");
  EXPECT_EQ(info->requested_kib, mibToKib(256));
  int64_t planned = 0;
  for (const auto& [vm, kib] : info->plan_kib) {
    planned += kib;
  }
  EXPECT_EQ(planned, mibToKib(256));
  EXPECT_EQ(call("reclaim", {{"mib", 1}}).text.find("is still in progress") != std::string::npos,
            true);
  EXPECT_EQ(call("reclaim-get", json::object(), kReader).result, ResultCode::kOk);

  // More than every floor allows: cannot-free at once, as an error that carries the status.
  FakeDaemon other;
  other.tick();
  Dispatcher d2(other);
  auto big = d2.handle(Request{.command = "reclaim", .arguments = {{"mib", 100000}}}, kAdmin);
  EXPECT_EQ(big.result, ResultCode::kError);
  EXPECT_EQ(big.arguments.at("outcome"), "cannot-free");

  other.controller().setPaused(true);
  EXPECT_EQ(d2.handle(Request{.command = "reclaim", .arguments = {{"mib", 1}}}, kAdmin).text,
            "the daemon is paused: daemon-resume first");
}

TEST_F(CommandsTest, ConfigGetAndSnapshotGetUseTheCodecs) {
  auto c = call("config-get");
  EXPECT_EQ(c.arguments.at("policy").at("name"), "margin");
  EXPECT_EQ(c.arguments.at("guards").at("inflate_step_mib"), 128);
  EXPECT_EQ(c.arguments.at("acks").at("stuck_after_s"), 5);
  EXPECT_EQ(c.arguments.at("control").at("socket"), "/run/balloond/control.sock");
  auto s = call("snapshot-get");
  auto snap = stateDumpFromJson(s.arguments);
  ASSERT_TRUE(snap.ok()) << snap.error().message;
  EXPECT_EQ(snap->snapshot.vms.size(), 2U);
  EXPECT_EQ(snap->snapshot.time_s, daemon.channel.snapshot.time_s);
  EXPECT_EQ(snap->control.size(), 2U);
}

// Checks that every scalar the YAML document sets is in `got` at the same path, with the same
// value; the simulated host's VMs (channel.sim.vms) are not settings and config-get leaves them
// out.
void expectSameScalars(const YAML::Node& node, const std::string& path, const json& got) {
  if (path == "/channel/sim/vms") return;
  if (node.IsMap()) {
    for (const auto& kv : node) {
      expectSameScalars(kv.second, path + "/" + kv.first.Scalar(), got);
    }
  } else if (node.IsSequence()) {
    for (std::size_t i = 0; i < node.size(); ++i) {
      expectSameScalars(node[i], path + "/" + std::to_string(i), got);
    }
  } else {
    const json::json_pointer at(path);
    ASSERT_TRUE(got.contains(at)) << path << " is missing from config-get";
    const json& value = got.at(at);
    if (value.is_number()) {
      EXPECT_EQ(value.get<double>(), node.as<double>()) << path;
    } else if (value.is_boolean()) {
      EXPECT_EQ(value.get<bool>(), node.as<bool>()) << path;
    } else {
      ASSERT_TRUE(value.is_string()) << path << ": " << value.dump();
      EXPECT_EQ(value.get<std::string>(), node.Scalar()) << path;
    }
  }
}

// config-get returns the whole configuration: the reference config (every key) comes back
// value for value.
TEST_F(CommandsTest, ConfigGetReturnsEveryKeyOfTheReferenceConfig) {
  const std::string path = BALLOOND_SOURCE_DIR "/config/examples/balloond.yaml";
  auto loaded = config::loadConfigFile(path);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  daemon.setConfig(*loaded);
  auto c = call("config-get", json::object(), kReader);
  ASSERT_EQ(c.result, ResultCode::kOk) << c.text;
  EXPECT_EQ(c.arguments.at("source"), path);
  expectSameScalars(YAML::LoadFile(path), "", c.arguments);
  EXPECT_FALSE(c.arguments.at("channel").at("sim").contains("vms"));
}

// config-test reads a file for a non-root admin only if that user could read it, and its errors
// to such a peer quote nothing from the file.
TEST_F(CommandsTest, ConfigTestReadsOnlyWhatThePeerCouldAndQuotesNothing) {
  if (geteuid() != 0) {
    GTEST_SKIP() << "needs root to give the test file to root";
  }
  const Peer member{.uid = 1000, .gid = 1000, .pid = 2, .admin = true};
  const auto dir = std::filesystem::path(::testing::TempDir()) /
                   ("balloond-config-test-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  chmod(dir.c_str(), 0755);
  const std::string secret = (dir / "secret").string();
  std::ofstream(secret) << "root:$6$secret-hash:19000:0:99999:7:::\n";
  ASSERT_EQ(chown(secret.c_str(), 0, 0), 0);
  ASSERT_EQ(chmod(secret.c_str(), 0600), 0);

  auto refused = call("config-test", {{"path", secret}}, member);
  EXPECT_EQ(refused.result, ResultCode::kError);
  EXPECT_EQ(refused.text, secret +
                              ": uid 1000 may not read this file (config-test reads a file "
                              "only for a user who could read it)");
  // Root reads it, and is told what is in it.
  auto as_root = call("config-test", {{"path", secret}});
  EXPECT_EQ(as_root.result, ResultCode::kError);
  EXPECT_NE(as_root.text.find("secret-hash"), std::string::npos) << as_root.text;

  // A file the member may read: checked, but its content is not quoted back.
  ASSERT_EQ(chmod(secret.c_str(), 0644), 0);
  auto readable = call("config-test", {{"path", secret}}, member);
  EXPECT_EQ(readable.result, ResultCode::kError);
  EXPECT_EQ(readable.text.find("secret-hash"), std::string::npos) << readable.text;
  EXPECT_EQ(readable.text, secret +
                               ":1:1: ...: unknown key (known: tick_s, default_floor_mib, "
                               "state_dir, channel, policy, guards, acks, vms, control, "
                               "metrics, on_exit)");
  std::ofstream(secret) << "tick_s: 0\npolicy:\n  name: 'hunter2'\n";
  EXPECT_EQ(call("config-test", {{"path", secret}}, member).text,
            secret + ":1:9: tick_s: must be between 0.05 and 60, got 0");
  std::ofstream(secret) << "tick_s: 1\npolicy:\n  name: 'hunter2'\n";
  auto policy = call("config-test", {{"path", secret}}, member).text;
  EXPECT_EQ(policy.find("hunter2"), std::string::npos) << policy;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace balloond
