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

// The policy's memory is opaque here: it is carried as it is, with the policy's name.
TEST(StateCodecTest, AVersion2RoundTripKeepsMomsWindows) {
  PersistedState s = sampleState();
  s.policy_memory = {.policy = "mom",
                     .memory = {{"host_free_history", {0.3, 0.25}},
                                {"vms",
                                 {{"stuck",
                                   {{"actual_window_kib", {1945600, 1945600}},
                                    {"unused_window_kib", {200000, 210000}}}}}}}};
  const nlohmann::json j = toJson(s);
  EXPECT_EQ(j.at("version"), 2);
  auto back = persistedStateFromJson(nlohmann::json::parse(j.dump(2)));  // as in the file
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, s);
  EXPECT_EQ(back->policy_memory.memory.at("vms").at("stuck").at("unused_window_kib"),
            nlohmann::json({200000, 210000}));
}

// A version 1 file, as balloond wrote it before policies kept memory: read with none.
TEST(StateCodecTest, AVersion1FileStillLoads) {
  const std::string v1 = R"({
  "clock_s": 123.5,
  "paused": true,
  "version": 1,
  "vms": {
    "gone": {"runtime_override": {"excluded": true}},
    "pinned": {"runtime_override": {"pin_kib": 1048576}},
    "stuck": {
      "ack": {"ever_moved": true, "hold_until_s": 130.0, "stalled": [[118.0, 1.0], [119.0, 1.0]],
              "stuck_direction": -1, "stuck_reason": "no progress", "target_kib": 1945600},
      "decisions": [
        {"from_kib": 2097152, "reason": "available-above-margin", "time_s": 100.0, "to_kib": 1843200},
        {"from_kib": 1843200, "reason": "retract:stuck", "time_s": 120.0, "to_kib": 1945600}],
      "last_change_s": 120.0, "last_grow_s": -1000000000.0, "last_shrink_s": 100.0,
      "reason": "retract:stuck", "state": "stuck",
      "state_reason": "no progress toward 1800 MiB for 5 s at 1900 MiB; target retracted",
      "target_kib": 1945600
    }
  }
})";
  TempDir dir;
  StateStore store(dir.path());
  { std::ofstream(store.path()) << v1; }
  const LoadedState loaded = store.load();
  ASSERT_TRUE(loaded.state) << loaded.warning;
  EXPECT_EQ(*loaded.state, sampleState());
  EXPECT_TRUE(loaded.state->policy_memory.policy.empty());
  EXPECT_TRUE(loaded.moved_aside.empty());
}

TEST(StateCodecTest, NamesTheBadField) {
  auto j = toJson(sampleState());
  j["vms"]["stuck"]["ack"]["hold_until_s"] = "soon";
  auto back = persistedStateFromJson(j);
  ASSERT_FALSE(back.ok());
  EXPECT_NE(back.error().message.find("state.vms.stuck"), std::string::npos)
      << back.error().message;
  j = toJson(sampleState());
  j["policy_memory"] = {{"memory", 1}};  // whose?
  back = persistedStateFromJson(j);
  ASSERT_FALSE(back.ok());
  EXPECT_EQ(back.error().message, "state.policy_memory.policy: expected a non-empty string");
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
    c.policy.params["peak_window_s"] = 0;  // the rule alone, from the first report
    c.default_floor_mib = 256;
    c.guards.inflate_step_mib = 128;
    c.guards.host_reserve_mib = 1024;
    return c;
  }
  static void setUpHost(FakeChannel& ch, double t) {
    ch.setHost(t, 16384, 8192);
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

// MOM averages its last samples; a restart (through the file) keeps them, so the restarted
// daemon decides as the one that kept running would have. Memory that the policy cannot read, or
// that another policy wrote, is dropped and the rest of the state is kept.
TEST_F(RestoreTest, ARestartKeepsMomsMemory) {
  config::Config mom = cfg();
  mom.policy = {.name = "mom", .params = {}};
  mom.default_floor_mib = 0;
  mom.guards.deflate_step_mib = 100000;
  mom.guards.host_reserve_mib = 0;
  const auto makeMom = [&](FakeChannel& ch, const config::Config& c) {
    auto compiled = compile(c);
    EXPECT_TRUE(compiled.ok());
    return std::make_unique<Controller>(ch, std::move(compiled->policy),
                                        std::move(compiled->settings));
  };
  FakeChannel first;
  first.snapshot.host = {.total_kib = mibToKib(16384),
                         .available_kib = mibToKib(10000),
                         .free_kib = mibToKib(10000),
                         .psi_some_avg10 = {}};
  first.addVm("vm", 8192, 2048, 0);
  auto a = makeMom(first, mom);
  // The guest's free memory runs out: MOM grows it to its average use plus 20% of its size, and
  // the average lags behind the last sample.
  for (int i = 1; i <= 4; ++i) {
    at(first, i);
    first.snapshot.vms[0].guest.unused_kib = mibToKib(400 - 100 * i);
    ASSERT_FALSE(a->tick().error);
    first.snapshot.vms[0].actual_kib = status(*a, "vm")->target_kib;  // the guest follows
  }
  const PersistedState saved = a->persistedState();
  ASSERT_EQ(saved.policy_memory.policy, "mom");
  TempDir dir;
  StateStore store(dir.path());
  ASSERT_TRUE(store.save(saved).ok());
  const LoadedState loaded = store.load();
  ASSERT_TRUE(loaded.state);
  EXPECT_EQ(loaded.state->policy_memory, saved.policy_memory);

  FakeChannel second;
  second.snapshot = first.snapshot;
  auto b = makeMom(second, mom);
  b->restoreState(*loaded.state);
  EXPECT_EQ(b->dumpState().policy_memory, a->dumpState().policy_memory);
  at(first, 5);
  at(second, 5);
  const TickReport ran_on = a->tick();
  const TickReport restarted = b->tick();
  ASSERT_EQ(restarted.changes.size(), 1U);
  ASSERT_EQ(ran_on.changes.size(), 1U);
  EXPECT_EQ(restarted.changes[0].to_kib, ran_on.changes[0].to_kib);
  EXPECT_EQ(b->dumpState().policy_memory, a->dumpState().policy_memory);
  // Without the memory, the decision would differ: one sample is not the window's average.
  FakeChannel third;
  third.snapshot = first.snapshot;
  at(third, 5);
  auto fresh = makeMom(third, mom);
  const TickReport forgot = fresh->tick();
  ASSERT_EQ(forgot.changes.size(), 1U);
  EXPECT_NE(forgot.changes[0].to_kib, ran_on.changes[0].to_kib);

  PersistedState spoiled = *loaded.state;
  spoiled.policy_memory.memory["host_free_history"] = {"lots"};
  spoiled.paused = true;
  auto c = makeMom(second, mom);
  c->restoreState(spoiled);
  EXPECT_TRUE(c->paused());
  EXPECT_EQ(c->dumpState().policy_memory.memory.at("host_free_history"), nlohmann::json::array());
  auto d = makeMom(second, cfg());  // margin: mom's memory is not for it
  d->restoreState(*loaded.state);
  const StateDump other = d->dumpState();
  EXPECT_NE(other.policy_memory.policy, "mom");
  EXPECT_FALSE(other.policy_memory.memory.contains("host_free_history"));
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

namespace balloond {
namespace {

// A FIFO in place of state.json hung the start (a blocking open waiting for a writer); a link
// to /dev/zero would feed it without end. Both are refused at once and set aside.
TEST(StateStoreTest, AFifoOrADeviceInPlaceOfTheFileIsRefusedAtOnce) {
  TempDir dir;
  StateStore store(dir.path());
  ASSERT_EQ(mkfifo(store.path().c_str(), 0600), 0);
  const LoadedState fifo = store.load();  // returns: no writer is ever coming
  EXPECT_FALSE(fifo.state);
  EXPECT_EQ(fifo.warning, store.path() + ": not a regular file");
  EXPECT_FALSE(fs::exists(fs::symlink_status(store.path())));
  EXPECT_TRUE(fs::is_fifo(fifo.moved_aside));

  fs::create_symlink("/dev/zero", store.path());
  const LoadedState zero = store.load();
  EXPECT_FALSE(zero.state);
  EXPECT_EQ(zero.warning, store.path() + ": not a regular file");
  ASSERT_TRUE(store.save(sampleState()).ok());  // a fresh file replaces neither
  EXPECT_TRUE(store.load().state);
}

// One VM on a fake channel whose saved target is checked against this run's guards.
class RestoreGuardTest : public ::testing::Test {
 protected:
  void SetUp() override { spdlog::set_level(spdlog::level::off); }
  // A state file's record for "web" (2048 MiB max) with `target_kib` in force.
  static PersistedState saved(int64_t target_kib) {
    PersistedState s;
    s.clock_s = 100;
    PersistedVm& vm = s.vms["web"];
    vm.known = true;
    vm.target_kib = target_kib;
    vm.reason = "available-above-margin";
    vm.state = "settled";
    vm.ack.target_kib = target_kib;
    vm.ack.ever_moved = true;
    return s;
  }
  // Restores `state` into a controller whose config has `floor_mib`, ticks once, and returns
  // the target pushed to "web" (or -1 for none).
  int64_t restoredPush(const PersistedState& state, double floor_mib) {
    channel_.setHost(0, 16384, 8192);
    channel_.addVm("web", 2048, 2048, 1800);  // the simulated host restarted it at max
    config::Config c;
    c.policy.name = "static";
    c.default_floor_mib = floor_mib;
    auto compiled = compile(c);
    EXPECT_TRUE(compiled.ok());
    controller_ = std::make_unique<Controller>(channel_, std::move(compiled->policy),
                                               std::move(compiled->settings));
    controller_->restoreState(state);
    const TickReport r = controller_->tick();
    for (const auto& change : r.changes) {
      if (change.vm == "web") {
        return change.to_kib;
      }
    }
    return -1;
  }

  FakeChannel channel_;
  std::unique_ptr<Controller> controller_;
};

// The floor was raised from 256 to 900 MiB while the daemon was down: 512 MiB was pushed.
TEST_F(RestoreGuardTest, AFloorRaisedWhileDownWinsOverTheSavedTarget) {
  EXPECT_EQ(restoredPush(saved(mibToKib(512)), 900), mibToKib(900));
}

// `target_kib: 1` in the file: 0 MiB was pushed.
TEST_F(RestoreGuardTest, ATinySavedTargetIsRaisedToTheFloor) {
  EXPECT_EQ(restoredPush(saved(1), 256), mibToKib(256));
}

// A saved target above the VM's size is brought down to its ceiling, i.e. no push at all here.
TEST_F(RestoreGuardTest, ASavedTargetAboveTheCeilingIsBroughtDown) {
  EXPECT_EQ(restoredPush(saved(mibToKib(4096)), 256), -1);
}

// A target within the limits is restored as saved.
TEST_F(RestoreGuardTest, AGoodSavedTargetIsPushedAsSaved) {
  EXPECT_EQ(restoredPush(saved(mibToKib(1024)), 256), mibToKib(1024));
}

}  // namespace
}  // namespace balloond
