// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/spec.h"
#include "daemon/ack_tracker.h"
#include "daemon/channel.h"
#include "daemon/persisted_state.h"
#include "daemon/reclaim.h"
#include "daemon/sample_check.h"
#include "daemon/vm_limits.h"
#include "policy/guards.h"
#include "policy/policy.h"
#include "proto/control.h"
#include "proto/result.h"

namespace balloond {

// The parts of the config the controller acts on; swapped whole on reload.
struct ControllerSettings {
  std::string policy_name;
  policy::Guards guards;
  AckSettings acks;
  int64_t default_floor_kib = 0;
  std::vector<config::VmOverrideSpec> overrides;
};

// One VM as the status view and the control socket show it.
struct VmStatus {
  std::string name;
  int64_t max_kib = 0;
  int64_t actual_kib = 0;
  int64_t target_kib = 0;
  int64_t floor_kib = 0;            // configured
  int64_t effective_floor_kib = 0;  // the configured floor, or what the guest needs if more
  int64_t ceiling_kib = 0;
  std::optional<int64_t> available_kib;
  policy::AckState state = policy::AckState::kSettled;
  std::string state_reason;  // why it is in that state (empty when settled or converging)
  std::string reason;        // why its target last changed
  double last_change_s = 0;  // when
};

// One target the controller pushed.
struct TargetChange {
  std::string vm;
  int64_t from_kib = 0;
  int64_t to_kib = 0;
  std::string reason;
};

// What one tick did.
struct TickReport {
  double time_s = 0;
  std::optional<std::string> error;  // the channel could not be read: nothing else happened
  std::vector<TargetChange> changes;
  int64_t push_failures = 0;
  std::vector<std::string> failed_pushes;  // the VMs whose push failed
  // The VMs whose sample failed the check, with the problem's kind: (vm, kind).
  std::vector<std::pair<std::string, std::string>> invalid_samples;
};

// Runs one control cycle per tick(): read a snapshot from the channel, judge every VM's
// acknowledgements, let the policy propose (or an admin reclaim override it), let the guards
// make it safe, push what changed, and remember why. Owned by the daemon (real clock) or by a
// virtual-clock run; it never reads a clock itself.
class Controller {
 public:
  // An admin reclaim's freed memory stays set aside from growth this long after it succeeds.
  static constexpr double kReclaimHoldS = 60;

  Controller(Channel& channel, std::unique_ptr<policy::Policy> policy, ControllerSettings settings);

  TickReport tick();
  // Swaps in a new policy and settings; per-VM history is kept, and so is the policy's own
  // memory when the policy keeps its name (a different policy starts with fresh memory).
  void reconfigure(std::unique_ptr<policy::Policy> policy, ControllerSettings settings);

  // Starts an admin reclaim of `kib` over the VMs as of the last tick. The status says
  // cannot-free at once when the floors forbid it; an error if one is already running.
  Result<ReclaimStatus> startReclaim(int64_t kib);
  std::optional<ReclaimStatus> reclaimStatus() const;

  const std::vector<VmStatus>& status() const { return status_; }
  const Snapshot& lastSnapshot() const { return snapshot_; }
  const ControllerSettings& settings() const { return settings_; }
  // How many VM names have their `vms:` entries matched and cached (VMs gone are dropped).
  std::size_t cachedLimitNames() const { return limits_.cachedNames(); }
  // The last snapshot with every VM's target in force, state and policy history: what SIGUSR1
  // writes and `balloond --evaluate` reads.
  StateDump dumpState() const;

  // How many pushed targets each VM's decision history keeps.
  static constexpr std::size_t kDecisionHistory = 16;
  // Operator overrides from the control socket, applied on top of the config's and kept (by VM
  // name, across reloads and restarts of the VM) until cleared with an empty override.
  void setRuntimeOverride(const std::string& vm, const control::VmOverride& o);
  const std::map<std::string, control::VmOverride>& runtimeOverrides() const {
    return runtime_overrides_;
  }
  // The last targets pushed to a VM, oldest first; nullptr for an unknown VM.
  const std::deque<control::DecisionEntry>* decisions(const std::string& vm) const;
  // Paused: ticks still read, judge and report, and stuck VMs are still retracted, but the
  // policy's and reclaims' targets are not pushed.
  void setPaused(bool paused) { paused_ = paused; }
  bool paused() const { return paused_; }
  // What the state file keeps: runtime overrides, pause, per VM the target in force, its
  // reason, the decision history, the tracker's stuck hold and stalled window, and the guards'
  // grow and shrink times, on the snapshot clock of the last tick; and the policy's own memory.
  PersistedState persistedState() const;
  // Takes back a saved state at start: overrides, pause and the policy's memory (when saved by
  // the configured policy; otherwise, or when the policy cannot read it, dropped with a log
  // line) at once; each VM's record at the first successful tick, its times moved onto this
  // run's clock, so it is not treated as new. A VM absent from that tick starts fresh (its
  // runtime override is kept).
  void restoreState(const PersistedState& state);
  // Gives every managed VM its max back now (reason operator-restore unless told, e.g.
  // on-exit-restore); returns how many moved.
  int restoreAll(const std::string& reason = "operator-restore");

 private:
  // What the controller remembers about one VM between ticks.
  struct VmRecord {
    uint64_t seen_tick = 0;  // the last tick whose snapshot had this VM (ticks_read_)
    int64_t target_kib = 0;
    std::string reason = "initial";
    double last_change_s = 0;
    AckVerdict verdict;
    bool judged = false;                         // the tracker has given a verdict at least once
    std::optional<SampleFault> fault;            // this tick's sample failed the check: stale
    std::optional<policy::AckState> ended;       // the state it ended its last tick in, as logged
    std::deque<control::DecisionEntry> history;  // last kDecisionHistory pushes, oldest first
  };

  // The config's limits with the runtime override (vm-set) on top.
  policy::VmLimits limitsFor(const VmSample& vm);
  void forgetGoneVms(const Snapshot& snap);
  void judge(const VmSample& vm, VmRecord& record, bool excluded, double now_s);
  // Logs the VM's state when it ends the tick in another state than it ended the last one.
  static void logState(const std::string& vm, VmRecord& record);
  bool push(const std::string& vm, int64_t target_kib, const std::string& reason, double now_s,
            TickReport& report, bool retraction = false);
  // A push the channel took and that failed later (it logged push-failed): counted, and its
  // target taken back, so this tick's decision pushes it again as after a push that failed at once.
  void takeBackFailedPush(const Channel::FailedPush& failed, TickReport& report);
  void pushChanges(const std::vector<policy::Decision>& decisions, double now_s,
                   TickReport& report);
  int64_t reclaimEarmarkKib(double now_s) const;
  void rebuildStatus();
  void restoreRecord(const VmSample& vm, const PersistedVm& saved, VmRecord& record, double now_s);
  // Puts a restored target within this run's configured floor and ceiling (logged when it moves).
  void guardRestoredTarget(const policy::VmView& view, VmRecord& record);
  void restorePolicyMemory(const PolicyMemory& saved);
  // The policy's own memory with its name; empty when it keeps none.
  PolicyMemory policyMemory() const;

  Channel& channel_;
  std::unique_ptr<policy::Policy> policy_;
  ControllerSettings settings_;
  VmLimitIndex limits_;  // settings_.overrides, compiled; rebuilt on reconfigure
  AckTracker tracker_;
  SampleChecker checker_;
  policy::PolicyState policy_state_;
  std::map<std::string, VmRecord, std::less<>> records_;
  Snapshot snapshot_;
  std::vector<policy::VmView> views_;  // this tick's views, pointing into snapshot_
  std::vector<VmRecord*> view_records_;
  uint64_t ticks_read_ =
      0;  // ticks that read a snapshot  // each view's record (std::map nodes stay put)
  std::optional<ReclaimRun> reclaim_;
  uint64_t next_reclaim_id_ = 1;
  std::vector<VmStatus> status_;
  std::map<std::string, control::VmOverride> runtime_overrides_;
  bool paused_ = false;
  // Saved records waiting for the first successful tick, and the clock they were saved on.
  std::map<std::string, PersistedVm> restoring_;
  double restoring_clock_s_ = 0;
};

}  // namespace balloond
