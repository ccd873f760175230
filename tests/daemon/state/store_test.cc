// SPDX-License-Identifier: Apache-2.0
#include "daemon/state/store.h"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "daemon/compile.h"
#include "daemon/controller.h"
#include "tests/daemon/fake_channel.h"

namespace balloond {
namespace {

namespace fs = std::filesystem;
using testing::FakeChannel;

// A fresh directory under the system's temporary directory, removed at the end.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "balloond-state-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  TempDir(TempDir&&) = delete;
  TempDir& operator=(TempDir&&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

control::VmOverride pin(double mib) {
  control::VmOverride o;
  o.pin_kib = mibToKib(mib);
  return o;
}
control::VmOverride floorOverride(double mib) {
  control::VmOverride o;
  o.floor_kib = mibToKib(mib);
  return o;
}
control::VmOverride excluded() {
  control::VmOverride o;
  o.excluded = true;
  return o;
}

PersistedState sampleState() {
  PersistedState s;
  s.clock_s = 123.5;
  s.paused = true;
  s.vms["pinned"].runtime_override = pin(1024);
  s.vms["gone"].runtime_override = excluded();
  PersistedVm& vm = s.vms["stuck"];
  vm.known = true;
  vm.target_kib = mibToKib(1900);
  vm.reason = "retract:stuck";
  vm.last_change_s = 120;
  vm.state = "stuck";
  vm.state_reason = "no progress toward 1800 MiB for 5 s at 1900 MiB; target retracted";
  vm.history = {{100, mibToKib(2048), mibToKib(1800), "available-above-margin"},
                {120, mibToKib(1800), mibToKib(1900), "retract:stuck"}};
  vm.ack = AckMemory{.target_kib = mibToKib(1900),
                     .ever_moved = true,
                     .hold_until_s = 130,
                     .stuck_direction = -1,
                     .stuck_reason = "no progress",
                     .stalled = {{118, 1}, {119, 1}}};
  vm.last_shrink_s = 100;
  return s;
}

TEST(StateCodecTest, RoundTrips) {
  const PersistedState s = sampleState();
  auto back = persistedStateFromJson(toJson(s));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, s);
}

TEST(StateCodecTest, NamesTheBadField) {
  auto j = toJson(sampleState());
  j["vms"]["stuck"]["ack"]["hold_until_s"] = "soon";
  auto back = persistedStateFromJson(j);
  ASSERT_FALSE(back.ok());
  EXPECT_NE(back.error().message.find("state.vms.stuck"), std::string::npos)
      << back.error().message;
  j = toJson(sampleState());
  j["version"] = 99;
  back = persistedStateFromJson(j);
  ASSERT_FALSE(back.ok());
  EXPECT_NE(back.error().message.find("state.version"), std::string::npos);
}

TEST(StateStoreTest, SavesAndLoadsWithNothingLeftBehind) {
  TempDir dir;
  StateStore store(dir.path());
  EXPECT_EQ(store.path(), dir.path() + "/state.json");
  const LoadedState none = store.load();  // a first start: no file is normal
  EXPECT_FALSE(none.state);
  EXPECT_TRUE(none.warning.empty());
  EXPECT_TRUE(none.moved_aside.empty());

  ASSERT_TRUE(store.save(sampleState()).ok());
  const LoadedState loaded = store.load();
  ASSERT_TRUE(loaded.state);
  EXPECT_EQ(*loaded.state, sampleState());
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir.path())) {
    EXPECT_EQ(e.path().filename(), "state.json");  // no temporary left over
    ++files;
  }
  EXPECT_EQ(files, 1);
}

TEST(StateStoreTest, ACorruptFileIsMovedAsideWithAWarning) {
  const std::string cut_short = R"({"version": 1, "clock_s": 3, "vms": {)";
  TempDir dir;
  StateStore store(dir.path());
  { std::ofstream(store.path()) << cut_short; }
  const LoadedState loaded = store.load();
  EXPECT_FALSE(loaded.state);
  EXPECT_NE(loaded.warning.find("not valid JSON"), std::string::npos) << loaded.warning;
  ASSERT_FALSE(loaded.moved_aside.empty());
  EXPECT_EQ(loaded.moved_aside.rfind(store.path() + ".corrupt-", 0), 0U) << loaded.moved_aside;
  EXPECT_FALSE(fs::exists(store.path()));
  EXPECT_EQ(readFile(loaded.moved_aside), cut_short);

  // Valid JSON in the wrong shape is corrupt too; a later save starts a fresh file.
  { std::ofstream(store.path()) << "[1, 2, 3]"; }
  const LoadedState wrong = store.load();
  EXPECT_FALSE(wrong.state);
  EXPECT_NE(wrong.warning.find("not a JSON object"), std::string::npos) << wrong.warning;
  EXPECT_FALSE(fs::exists(store.path()));
  EXPECT_NE(wrong.moved_aside, loaded.moved_aside);  // the first one is not overwritten
  EXPECT_EQ(readFile(wrong.moved_aside), "[1, 2, 3]");
  EXPECT_EQ(readFile(loaded.moved_aside), cut_short);
  ASSERT_TRUE(store.save(sampleState()).ok());
  EXPECT_TRUE(store.load().state);
}

TEST(StateStoreTest, AFailedWriteReturnsAnErrorAndKeepsTheOldFile) {
  TempDir dir;
  StateStore store(dir.path());
  ASSERT_TRUE(store.save(sampleState()).ok());
  const std::string before = readFile(store.path());

  // The temporary's name is taken by a directory: the write fails even for root.
  fs::create_directory(store.path() + ".tmp");
  PersistedState changed = sampleState();
  changed.paused = false;
  auto failed = store.save(changed);
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.error().message.find("state.json.tmp"), std::string::npos)
      << failed.error().message;
  EXPECT_EQ(readFile(store.path()), before);
  fs::remove(store.path() + ".tmp");

  // A read-only directory, where permissions bind (not root): the same.
  if (geteuid() != 0) {
    fs::permissions(dir.path(), fs::perms::owner_read | fs::perms::owner_exec);
    auto denied = store.save(changed);
    fs::permissions(dir.path(), fs::perms::owner_all);
    ASSERT_FALSE(denied.ok());
    EXPECT_EQ(readFile(store.path()), before);
  }
  // A directory that does not exist.
  auto missing = StateStore(dir.path() + "/nope").save(changed);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("cannot create"), std::string::npos);
}

// A controller on a fake channel, ticked at whole seconds.
class RestoreTest : public ::testing::Test {
 protected:
  void SetUp() override { spdlog::set_level(spdlog::level::warn); }
  static config::Config cfg() {
    config::Config c;
    c.policy.name = "margin";
    c.default_floor_mib = 256;
    c.guards.inflate_step_mib = 128;
    c.guards.host_reserve_mib = 1024;
    return c;
  }
  static void setUpHost(FakeChannel& ch, double t) {
    ch.snapshot.time_s = t;
    ch.snapshot.host = {.total_kib = mibToKib(16384),
                        .available_kib = mibToKib(8192),
                        .free_kib = {},
                        .psi_some_avg10 = {}};
    ch.addVm("idle", 2048, 2048, 1800);  // gets asked to shrink, and never moves
    ch.addVm("pinned", 2048, 2048, 1800);
    ch.addVm("excluded", 2048, 2048, 1800);
  }
  static void at(FakeChannel& ch, double t) {
    ch.snapshot.time_s = t;
    for (auto& vm : ch.snapshot.vms) {
      vm.guest.last_update_s = t;
    }
  }
  static std::unique_ptr<Controller> make(FakeChannel& ch) {
    auto compiled = compile(cfg());
    EXPECT_TRUE(compiled.ok());
    return std::make_unique<Controller>(ch, std::move(compiled->policy),
                                        std::move(compiled->settings));
  }
  static const VmStatus* status(const Controller& c, const std::string& name) {
    for (const auto& s : c.status()) {
      if (s.name == name) {
        return &s;
      }
    }
    return nullptr;
  }
};

TEST_F(RestoreTest, OverridesFlagsAndTargetsComeBackOnTheFirstTick) {
  FakeChannel first;
  setUpHost(first, 10);
  auto a = make(first);
  a->setRuntimeOverride("pinned", pin(1536));
  a->setRuntimeOverride("excluded", excluded());
  a->setPaused(false);
  double t = 10;
  for (int i = 10; i <= 30; ++i) {  // "idle" never moves: it gets stuck and retracted
    t = i;
    at(first, t);
    ASSERT_FALSE(a->tick().error);
    first.snapshot.vms[1].actual_kib = status(*a, "pinned")->target_kib;  // follows its pin
    if (status(*a, "idle")->state == policy::AckState::kStuck) {
      break;
    }
  }
  ASSERT_EQ(status(*a, "idle")->state, policy::AckState::kStuck);
  const int64_t idle_target = status(*a, "idle")->target_kib;
  const std::size_t idle_history = a->decisions("idle")->size();
  ASSERT_GE(idle_history, 2U);  // the shrink and its retraction
  const PersistedState saved = a->persistedState();
  EXPECT_EQ(saved.clock_s, t);

  // Through the file, as a restarted daemon would read it.
  TempDir dir;
  StateStore store(dir.path());
  ASSERT_TRUE(store.save(saved).ok());
  const LoadedState loaded = store.load();
  ASSERT_TRUE(loaded.state);

  // The restarted run's clock starts at 0; the guests are where they were.
  FakeChannel second;
  second.snapshot = first.snapshot;
  at(second, 0);
  auto b = make(second);
  b->restoreState(*loaded.state);
  EXPECT_EQ(b->runtimeOverrides(), a->runtimeOverrides());
  const TickReport r = b->tick();
  ASSERT_FALSE(r.error);

  const VmStatus* idle = status(*b, "idle");
  ASSERT_NE(idle, nullptr);
  EXPECT_EQ(idle->state, policy::AckState::kStuck) << idle->state_reason;
  EXPECT_EQ(idle->target_kib, idle_target);
  EXPECT_EQ(idle->reason, "retract:stuck");
  ASSERT_EQ(b->decisions("idle")->size(), idle_history);  // not a new VM
  EXPECT_LE(b->decisions("idle")->back().time_s, 0);      // moved onto the new clock
  EXPECT_EQ(status(*b, "pinned")->target_kib, mibToKib(1536));
  EXPECT_EQ(status(*b, "pinned")->floor_kib, mibToKib(1536));
  EXPECT_EQ(status(*b, "excluded")->state, policy::AckState::kExcluded);
  for (const auto& c : r.changes) {  // the stuck VM is not asked to shrink again
    EXPECT_NE(c.vm, "idle") << c.reason;
  }

  // The hold resumes where it was: it ends the stuck hold's length after it began, not later.
  double released = -1;
  for (int u = 1; u <= 30; ++u) {
    at(second, u);
    b->tick();
    if (status(*b, "idle")->state != policy::AckState::kStuck) {
      released = u;
      break;
    }
  }
  EXPECT_GT(released, 0);
  EXPECT_LE(released, AckSettings{}.stuck_hold_s);
}

// A VM with a balloon device whose guest never reports nor moves (no driver loaded) is flagged
// no-driver by the tracker after no_driver_after_s. After a restart it is flagged at the first
// tick and stays so, not judged stale (and so fair game for the policy) for another
// no_driver_after_s; the flag goes once its guest reports.
TEST_F(RestoreTest, NoDriverFlagComesBackAtOnceAndHolds) {
  auto silent = [](FakeChannel& ch) -> VmSample& { return ch.snapshot.vms.back(); };
  FakeChannel first;
  setUpHost(first, 0);
  first.addVm("silent", 512, 512, 0).guest = GuestStats{};
  auto a = make(first);
  const double no_driver_after_s = AckSettings{}.no_driver_after_s;
  for (int i = 0; i <= static_cast<int>(no_driver_after_s) + 1; ++i) {
    at(first, i);
    silent(first).guest.last_update_s = 0;
    ASSERT_FALSE(a->tick().error);
  }
  ASSERT_EQ(status(*a, "silent")->state, policy::AckState::kNoDriver);

  FakeChannel second;
  second.snapshot = first.snapshot;
  auto b = make(second);
  b->restoreState(a->persistedState());
  for (int u = 0; u < static_cast<int>(no_driver_after_s); ++u) {  // the new run's clock
    at(second, u);
    silent(second).guest.last_update_s = 0;
    ASSERT_FALSE(b->tick().error);
    const VmStatus* s = status(*b, "silent");
    ASSERT_EQ(s->state, policy::AckState::kNoDriver) << "at " << u << " s: " << s->state_reason;
  }
  for (const auto& [vm, target] : second.pushes) {
    EXPECT_NE(vm, "silent") << target;
  }

  // The driver loads and reports: no longer no-driver.
  at(second, no_driver_after_s);
  silent(second).guest.available_kib = mibToKib(400);
  ASSERT_FALSE(b->tick().error);
  EXPECT_NE(status(*b, "silent")->state, policy::AckState::kNoDriver);
}

TEST_F(RestoreTest, PausedAndOverridesOfAbsentVmsAreKept) {
  FakeChannel ch;
  setUpHost(ch, 5);
  auto a = make(ch);
  a->setRuntimeOverride("not-running", floorOverride(512));
  a->setPaused(true);
  ASSERT_FALSE(a->tick().error);
  EXPECT_TRUE(ch.pushes.empty());

  auto b = make(ch);
  b->restoreState(a->persistedState());
  EXPECT_TRUE(b->paused());
  ASSERT_EQ(b->runtimeOverrides().count("not-running"), 1U);
  // Saved again before any tick (the channel is down): nothing loaded is lost.
  ch.fail_read = true;
  ASSERT_TRUE(b->tick().error);
  EXPECT_EQ(b->persistedState(), a->persistedState());
  ch.fail_read = false;
  at(ch, 6);
  ASSERT_FALSE(b->tick().error);
  EXPECT_TRUE(ch.pushes.empty());  // still paused
  EXPECT_EQ(b->persistedState().vms.at("not-running").runtime_override, floorOverride(512));
}

}  // namespace
}  // namespace balloond
