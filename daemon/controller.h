#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/spec.h"
#include "daemon/channel.h"
#include "policy/guards.h"
#include "policy/policy.h"
#include "proto/result.h"

namespace balloond {

// The parts of the config the controller acts on; swapped whole on reload.
struct ControlSettings {
  std::string policy_name;
  policy::Guards guards;
  int64_t default_floor_kib = 0;
  std::vector<config::VmOverrideSpec> overrides;
};

ControlSettings settingsFromConfig(const config::Config& config);
// A VM's floor, ceiling, exclusion and shares: the defaults, then every matching override.
policy::VmLimits limitsFor(const ControlSettings& settings, const VmSample& vm);
Result<std::unique_ptr<policy::Policy>> makePolicy(const config::PolicySpec& spec);

// One VM as the status view and the control socket show it.
struct VmStatus {
  std::string name;
  int64_t max_kib = 0;
  int64_t actual_kib = 0;
  int64_t target_kib = 0;
  int64_t floor_kib = 0;
  int64_t ceiling_kib = 0;
  std::optional<int64_t> available_kib;
  policy::AckState state = policy::AckState::kSettled;
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
};

// Runs one control cycle per tick(): read a snapshot from the channel, let the policy propose,
// let the guards make it safe, push what changed, and remember why. Owned by the daemon (real
// clock) or by a virtual-clock run; it never reads a clock itself.
class Controller {
 public:
  Controller(Channel& channel, std::unique_ptr<policy::Policy> policy, ControlSettings settings);

  TickReport tick();
  // Swaps in a new policy and settings; per-VM history is kept.
  void reconfigure(std::unique_ptr<policy::Policy> policy, ControlSettings settings);

  const std::vector<VmStatus>& status() const { return status_; }
  const Snapshot& lastSnapshot() const { return snapshot_; }
  const ControlSettings& settings() const { return settings_; }
  // The last snapshot with every VM's target in force, state and policy history: what SIGUSR1
  // writes and `balloond --evaluate` reads.
  StateDump dumpState() const;

 private:
  // What the controller remembers about one VM between ticks.
  struct VmRecord {
    int64_t target_kib = 0;
    bool pushed = false;
    std::string reason = "initial";
    double last_change_s = 0;
    policy::AckState state = policy::AckState::kSettled;
  };

  policy::VmLimits limitsFor(const VmSample& vm) const {
    return balloond::limitsFor(settings_, vm);
  }
  policy::AckState deriveState(const VmSample& vm, const VmRecord& record, bool excluded,
                               double now_s) const;
  // Re-derives a VM's state and logs a change.
  void refreshState(const VmSample& vm, VmRecord& record, bool excluded, double now_s);
  void forgetGoneVms(const Snapshot& snap);
  void pushChanges(const std::vector<policy::Decision>& decisions, double now_s,
                   TickReport& report);
  void rebuildStatus(const policy::PolicyInput& input);

  Channel& channel_;
  std::unique_ptr<policy::Policy> policy_;
  ControlSettings settings_;
  policy::PolicyState policy_state_;
  std::map<std::string, VmRecord> records_;
  Snapshot snapshot_;
  std::vector<VmStatus> status_;
};

}  // namespace balloond
