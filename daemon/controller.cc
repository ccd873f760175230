// SPDX-License-Identifier: Apache-2.0
#include "daemon/controller.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "daemon/runtime_override.h"

namespace balloond {

Controller::Controller(Channel& channel, std::unique_ptr<policy::Policy> policy,
                       ControllerSettings settings)
    : channel_(channel),
      policy_(std::move(policy)),
      settings_(std::move(settings)),
      limits_(settings_.overrides, settings_.default_floor_kib),
      tracker_(settings_.acks) {}

void Controller::reconfigure(std::unique_ptr<policy::Policy> policy, ControllerSettings settings) {
  if (settings.policy_name == settings_.policy_name) {  // the same policy keeps its memory
    auto kept = policy->loadMemory(policy_->saveMemory());
    if (!kept) {
      spdlog::warn("policy-memory-dropped policy={} error=\"{}\"", settings.policy_name,
                   kept.error().message);
    }
  }
  policy_ = std::move(policy);
  settings_ = std::move(settings);
  limits_ = VmLimitIndex(settings_.overrides, settings_.default_floor_kib);
  tracker_.setSettings(settings_.acks);
}

policy::VmLimits Controller::limitsFor(const VmSample& vm) {
  const policy::VmLimits limits = limits_.limitsFor(vm);
  auto it = runtime_overrides_.find(vm.name);
  return it == runtime_overrides_.end() ? limits
                                        : applyRuntimeOverride(limits, it->second, vm.max_kib);
}

void Controller::forgetGoneVms(const Snapshot& snap) {
  // Every VM of this snapshot was stamped with the tick's number in the loop that made its view.
  if (records_.size() == snap.vms.size()) {
    return;  // the usual tick: every record is one of this snapshot's VMs
  }
  for (auto it = records_.begin(); it != records_.end();) {
    if (it->second.seen_tick == ticks_read_) {
      ++it;
      continue;
    }
    spdlog::info("vm-removed vm={}", it->first);
    policy_state_.vms.erase(it->first);
    tracker_.forget(it->first);
    checker_.forget(it->first);
    limits_.forget(it->first);
    it = records_.erase(it);
  }
}

void Controller::judge(const VmSample& vm, VmRecord& record, bool excluded, double now_s) {
  using policy::AckState;
  if (!vm.unread_reason.empty() && record.judged) {
    // Last tick's numbers again: nothing to learn about progress, and nothing fresh to act on.
    // The tracker does not see them, so a channel's hiccup never counts as a guest's stall.
    if (record.verdict.state == AckState::kSettled ||
        record.verdict.state == AckState::kConverging || record.verdict.state == AckState::kStale) {
      record.verdict.state = AckState::kStale;
      record.verdict.reason = "not read this tick: " + vm.unread_reason;
    }
    record.verdict.retract = false;
    return;
  }
  AckVerdict verdict = tracker_.observe(vm, record.target_kib, excluded, now_s);
  const bool following = verdict.state == AckState::kSettled ||
                         verdict.state == AckState::kConverging ||
                         verdict.state == AckState::kStale;
  if (record.fault && following) {  // numbers that failed the check are no numbers: stale
    verdict.state = AckState::kStale;
    verdict.reason = "inconsistent stats: " + record.fault->detail;
  }
  record.verdict = std::move(verdict);
  record.judged = true;
}

void Controller::logState(const std::string& vm, VmRecord& record) {
  using policy::AckState;
  const AckState to = record.verdict.state;
  if (record.ended == to) {
    return;
  }
  auto routine = [](AckState a) { return a == AckState::kSettled || a == AckState::kConverging; };
  // Settling and converging are the normal rhythm; anything else is news for operators.
  const bool news = !routine(to) || (record.ended && !routine(*record.ended));
  const bool alert = to == AckState::kUncooperative || to == AckState::kNoDriver;
  const auto level = alert  ? spdlog::level::warn
                     : news ? spdlog::level::info
                            : spdlog::level::debug;
  spdlog::log(level, "vm-state vm={} from={} to={} reason=\"{}\"", vm,
              record.ended ? policy::toString(*record.ended) : "new", policy::toString(to),
              record.verdict.reason);
  record.ended = to;
}

bool Controller::push(const std::string& vm, int64_t target_kib, const std::string& reason,
                      double now_s, TickReport& report, bool retraction) {
  VmRecord& record = records_.at(vm);
  auto status = channel_.push(vm, target_kib);
  if (!status) {
    ++report.push_failures;
    report.failed_pushes.push_back(vm);
    spdlog::warn("push-failed vm={} to_mib={} error=\"{}\"", vm, target_kib / kKibPerMib,
                 status.error().message);
    return false;
  }
  spdlog::info("target-set vm={} from_mib={} to_mib={} reason={}", vm,
               record.target_kib / kKibPerMib, target_kib / kKibPerMib, reason);
  report.changes.push_back({vm, record.target_kib, target_kib, reason});
  policy::VmPolicyState& ps = policy_state_.vms[vm];
  if (!retraction) {  // taking back a request the guest could not meet gives it nothing
    (target_kib > record.target_kib ? ps.last_grow_s : ps.last_shrink_s) = now_s;
  }
  ps.last_target_kib = target_kib;
  ps.last_reason = reason;
  record.history.push_back({now_s, report.changes.back().from_kib, target_kib, reason});
  if (record.history.size() > kDecisionHistory) {
    record.history.pop_front();
  }
  record.target_kib = target_kib;
  record.reason = reason;
  record.last_change_s = now_s;
  return true;
}

void Controller::takeBackFailedPush(const Channel::FailedPush& failed, TickReport& report) {
  ++report.push_failures;
  report.failed_pushes.push_back(failed.vm);
  auto it = records_.find(failed.vm);
  if (it == records_.end() || it->second.target_kib != failed.target_kib ||
      it->second.history.empty() || it->second.history.back().to_kib != failed.target_kib) {
    return;  // gone, or given another target since
  }
  // The target before it is in force again. Its history entry stays (the push was asked for and
  // logged), and so does the policy's grow or shrink time: a hold-off counts a requested grow.
  VmRecord& record = it->second;
  record.target_kib = record.history.back().from_kib;
  policy_state_.vms[failed.vm].last_target_kib = record.target_kib;
}

TickReport Controller::tick() {
  TickReport report;
  auto snap = channel_.read();
  if (!snap) {
    report.error = snap.error().message;
    spdlog::warn("tick-failed channel={} error=\"{}\"", channel_.name(), snap.error().message);
    return report;
  }
  snapshot_ = std::move(*snap);
  ++ticks_read_;
  const double now = snapshot_.time_s;
  report.time_s = now;
  for (const auto& failed : channel_.takeFailedPushes()) {
    takeBackFailedPush(failed, report);
  }

  views_.clear();
  view_records_.clear();
  std::set<std::string> restored;
  for (auto& vm : snapshot_.vms) {
    auto [it, added] = records_.try_emplace(vm.name);
    VmRecord& record = it->second;
    record.seen_tick = ticks_read_;
    // Where a sample enters: numbers that fail the check reach neither the tracker nor a policy.
    record.fault = checker_.check(vm, now);
    if (record.fault) {
      vm.guest = withheldStats(vm.guest, now);
      report.invalid_samples.emplace_back(vm.name, record.fault->kind);
    }
    auto saved = added ? restoring_.find(vm.name) : restoring_.end();
    if (saved != restoring_.end()) {
      restoreRecord(vm, saved->second, record, now);
      if (record.judged) {  // the log says from=<saved>
        record.ended = record.verdict.state;
      }
      restored.insert(vm.name);
    } else if (added) {
      record.target_kib = vm.actual_kib;
      record.last_change_s = now;
      spdlog::info("vm-added vm={} max_mib={} actual_mib={}", vm.name, vm.max_kib / kKibPerMib,
                   vm.actual_kib / kKibPerMib);
    }
    policy::VmLimits limits = limitsFor(vm);
    // Not read this tick: no policy or guard acts on old numbers, and its target stays as it is.
    const bool unread = !vm.unread_reason.empty() && record.judged;
    limits.excluded = limits.excluded || unread;
    judge(vm, record, limits.excluded, now);
    if (record.verdict.retract && record.target_kib != vm.actual_kib) {
      push(vm.name, vm.actual_kib, "retract:" + std::string(policy::toString(record.verdict.state)),
           now, report, true);
    }
    const auto state = record.verdict.state;
    policy::VmView view{
        .sample = &vm,
        .limits = limits,
        .target_kib = record.target_kib,
        .ack = state,
        .stats_fresh = state != policy::AckState::kStale && vm.guest.last_update_s > 0,
        .shrink_blocked = record.verdict.shrink_blocked,
        .grow_blocked = record.verdict.grow_blocked};
    // Found once here for the policy and the guards (a new VM's is made when a policy needs it).
    if (auto h = policy_state_.vms.find(vm.name); h != policy_state_.vms.end()) {
      view.history = &h->second;
    }
    if (restored.contains(vm.name) && !limits.excluded) {
      guardRestoredTarget(view, record);
      if (record.target_kib != vm.actual_kib) {
        // The channel may have lost the target while balloond was down (the simulated host
        // restarts with it): a VM held stuck keeps what it has, any other is asked again.
        if (state == policy::AckState::kStuck || state == policy::AckState::kUncooperative) {
          push(vm.name, vm.actual_kib, "restore:retract", now, report, true);
        } else if (!paused_) {
          push(vm.name, record.target_kib, "restore", now, report, true);
        }
      }
      view.target_kib = record.target_kib;
    }
    views_.push_back(view);
    view_records_.push_back(&record);
  }

  restoring_.clear();
  forgetGoneVms(snapshot_);  // after the views: no VM of this tick is dropped, so they stay valid

  policy::PolicyInput input{.now_s = now,
                            .host = snapshot_.host,
                            .host_reserve_kib = settings_.guards.host_reserve_kib,
                            .vms = views_};
  auto proposed = policy_->decide(input, policy_state_);
  if (reclaim_) {
    // An admin reclaim's donors follow its plan, not the policy.
    auto urgent = reclaim_->update(views_, settings_.guards, now);
    for (auto& d : proposed) {
      auto it = std::find_if(urgent.begin(), urgent.end(),
                             [&](const policy::Decision& u) { return u.vm == d.vm; });
      if (it != urgent.end()) {
        d = *it;
      }
    }
    if (!reclaim_->active() && reclaim_->status().finished_s == now) {
      spdlog::info("reclaim-done id={} outcome={} text=\"{}\"", reclaim_->status().id,
                   toString(reclaim_->status().outcome), reclaim_->status().text);
    }
  }
  policy::Guards guards = settings_.guards;
  guards.host_reserve_kib += reclaimEarmarkKib(now);
  const auto guarded = policy::applyGuards(input, proposed, guards, policy_state_);
  if (!paused_) {
    pushChanges(guarded, now, report);
  }
  for (size_t i = 0; i < views_.size(); ++i) {  // what this tick pushed changes what guests do
    const policy::VmView& view = views_[i];
    VmRecord& record = *view_records_[i];
    judge(*view.sample, record, view.limits.excluded, now);
    logState(view.sample->name, record);  // only the state it ends the tick in
  }
  rebuildStatus();
  return report;
}

int64_t Controller::reclaimEarmarkKib(double now_s) const {
  if (!reclaim_) {
    return 0;
  }
  const ReclaimStatus& s = reclaim_->status();
  const bool holding =
      s.outcome == ReclaimStatus::Outcome::kSuccess && now_s - s.finished_s < kReclaimHoldS;
  return reclaim_->active() || holding ? s.requested_kib : 0;
}

void Controller::pushChanges(const std::vector<policy::Decision>& decisions, double now_s,
                             TickReport& report) {
  // The guards keep the views' order (skipping unmanaged VMs): walk both together.
  size_t i = 0;
  for (const auto& d : decisions) {
    while (i < views_.size() && !policy::sameVm(views_[i].sample->name, d.vm)) {
      ++i;
    }
    const auto found = i < views_.size() ? records_.end() : records_.find(d.vm);
    const VmRecord* record = i < views_.size()         ? view_records_[i]
                             : found != records_.end() ? &found->second
                                                       : nullptr;  // not a VM of this tick
    if (record != nullptr && d.target_kib != record->target_kib) {
      push(std::string(d.vm), d.target_kib, std::string(d.reason), now_s, report);
    }
    if (i == views_.size()) {
      i = 0;  // not in order after all: look the rest up from the start
    }
  }
}

Result<ReclaimStatus> Controller::startReclaim(int64_t kib) {
  if (reclaim_ && reclaim_->active()) {
    return Error{"reclaim " + std::to_string(reclaim_->status().id) + " is still in progress"};
  }
  if (kib <= 0) {
    return Error{"reclaim: the amount must be positive"};
  }
  if (views_.empty() && snapshot_.time_s == 0) {
    return Error{"reclaim: no snapshot yet; try again after the first tick"};
  }
  reclaim_.emplace(next_reclaim_id_++, kib, views_, settings_.guards, snapshot_.time_s);
  const ReclaimStatus& s = reclaim_->status();
  spdlog::info("reclaim-start id={} mib={} outcome={} text=\"{}\"", s.id, kib / kKibPerMib,
               toString(s.outcome), s.text);
  return s;
}

std::optional<ReclaimStatus> Controller::reclaimStatus() const {
  if (!reclaim_) {
    return std::nullopt;
  }
  return reclaim_->status();
}

void Controller::setRuntimeOverride(const std::string& vm, const control::VmOverride& o) {
  if (o.empty()) {
    runtime_overrides_.erase(vm);
    spdlog::info("override-cleared vm={}", vm);
    return;
  }
  runtime_overrides_[vm] = o;
  spdlog::info("override-set vm={} {}", vm, control::toJson(o).dump());
}

const std::deque<control::DecisionEntry>* Controller::decisions(const std::string& vm) const {
  auto it = records_.find(vm);
  return it == records_.end() ? nullptr : &it->second.history;
}

int Controller::restoreAll(const std::string& reason) {
  std::vector<policy::Decision> decisions;
  for (const auto& view : views_) {
    const VmSample& vm = *view.sample;
    const VmRecord& record = records_.at(vm.name);
    const auto state = record.verdict.state;
    // Its own limits, not this tick's view: a VM not read this tick is still restored.
    const bool managed = !limitsFor(vm).excluded && state != policy::AckState::kExcluded &&
                         state != policy::AckState::kNoDriver;
    if (managed && record.target_kib != vm.max_kib) {
      decisions.push_back({vm.name, vm.max_kib, reason});
    }
  }
  TickReport report;
  pushChanges(decisions, snapshot_.time_s, report);
  rebuildStatus();
  return static_cast<int>(report.changes.size());
}

void Controller::rebuildStatus() {
  status_.clear();
  for (size_t i = 0; i < views_.size(); ++i) {
    const policy::VmView& view = views_[i];
    const VmSample& vm = *view.sample;
    const VmRecord& record = *view_records_[i];
    status_.push_back(VmStatus{
        .name = vm.name,
        .max_kib = vm.max_kib,
        .actual_kib = vm.actual_kib,
        .target_kib = record.target_kib,
        .floor_kib = view.limits.floor_kib,
        .effective_floor_kib = policy::effectiveFloorKib(view, settings_.guards),
        .ceiling_kib = view.limits.ceiling_kib,
        .available_kib = vm.guest.available_kib,
        .state = record.verdict.state,
        .state_reason = record.verdict.reason,
        .reason = !vm.exclude_reason.empty() ? vm.exclude_reason
                  : !vm.note.empty()         ? vm.note
                                             : record.reason,
        .last_change_s = record.last_change_s,
    });
  }
}

PersistedState Controller::persistedState() const {
  PersistedState state{
      .clock_s = snapshot_.time_s, .paused = paused_, .vms = {}, .policy_memory = {}};
  if (!restoring_.empty()) {  // no successful tick since the restore: keep what was loaded
    state.clock_s = restoring_clock_s_;
    state.vms = restoring_;
  }
  for (const auto& [name, o] : runtime_overrides_) {
    state.vms[name].runtime_override = o;
  }
  for (const auto& [name, record] : records_) {
    PersistedVm& vm = state.vms[name];
    vm.known = true;
    vm.target_kib = record.target_kib;
    vm.reason = record.reason;
    vm.last_change_s = record.last_change_s;
    vm.state = policy::toString(record.verdict.state);
    vm.state_reason = record.verdict.reason;
    vm.history.assign(record.history.begin(), record.history.end());
    if (auto ack = tracker_.memory(name)) {
      vm.ack = std::move(*ack);
    } else {
      vm.ack.target_kib = record.target_kib;  // never judged: nothing else to keep
    }
    if (auto ps = policy_state_.vms.find(name); ps != policy_state_.vms.end()) {
      vm.last_grow_s = ps->second.last_grow_s;
      vm.last_shrink_s = ps->second.last_shrink_s;
    }
  }
  state.policy_memory = policyMemory();
  return state;
}

void Controller::restoreState(const PersistedState& state) {
  paused_ = state.paused;
  runtime_overrides_.clear();
  restoring_.clear();
  for (const auto& [name, vm] : state.vms) {
    if (vm.runtime_override && !vm.runtime_override->empty()) {
      runtime_overrides_[name] = *vm.runtime_override;
    }
    if (vm.known) {
      restoring_[name] = vm;
    }
  }
  restoring_clock_s_ = state.clock_s;
  restorePolicyMemory(state.policy_memory);
  spdlog::info("state-restored vms={} overrides={} paused={}", restoring_.size(),
               runtime_overrides_.size(), paused_);
}

void Controller::restoreRecord(const VmSample& vm, const PersistedVm& saved, VmRecord& record,
                               double now_s) {
  // Times move by how far this run's clock is from the saved one; the time balloond was down
  // is not counted, so a stuck hold resumes with what was left of it.
  const double shift = now_s - restoring_clock_s_;
  auto moved = [&](double t) { return t <= -1e8 ? t : t + shift; };  // -1e9: never
  record.target_kib = saved.target_kib;
  record.reason = saved.reason;
  if (auto state = policy::ackStateFromString(saved.state)) {  // the log says from=<saved>
    record.verdict.state = *state;
    record.verdict.reason = saved.state_reason;
    record.judged = true;
  }
  record.last_change_s = saved.last_change_s + shift;
  record.history.clear();
  for (auto d : saved.history) {
    d.time_s += shift;
    record.history.push_back(std::move(d));
  }
  while (record.history.size() > kDecisionHistory) {
    record.history.pop_front();
  }
  AckMemory ack = saved.ack;
  ack.hold_until_s = ack.hold_until_s < 0 ? ack.hold_until_s : ack.hold_until_s + shift;
  for (auto& [at, seconds] : ack.stalled) {
    at += shift;
  }
  tracker_.restore(vm.name, ack, vm.actual_kib, now_s,
                   saved.state == policy::toString(policy::AckState::kNoDriver),
                   saved.state == policy::toString(policy::AckState::kUncooperative));
  policy::VmPolicyState& ps = policy_state_.vms[vm.name];
  ps.last_target_kib = saved.target_kib;
  ps.last_reason = saved.reason;
  ps.last_grow_s = moved(saved.last_grow_s);
  ps.last_shrink_s = moved(saved.last_shrink_s);
  spdlog::info("vm-restored vm={} target_mib={} actual_mib={} state={} reason=\"{}\"", vm.name,
               saved.target_kib / kKibPerMib, vm.actual_kib / kKibPerMib, saved.state,
               saved.state_reason);
}

void Controller::guardRestoredTarget(const policy::VmView& view, VmRecord& record) {
  // The saved target is untrusted (an old config, an edited file): it is kept within this run's
  // configured floor and ceiling, so a floor raised while balloond was down wins. What the guest
  // needs now (the need-based floor) is the guards' to add on this tick, as for any target.
  const int64_t ceiling = view.limits.ceiling_kib;
  const int64_t floor = std::min(view.limits.floor_kib, ceiling);
  const int64_t guarded = std::clamp(record.target_kib, floor, ceiling);
  if (guarded == record.target_kib) {
    return;
  }
  spdlog::warn("vm-restore-guarded vm={} saved_mib={} to_mib={} floor_mib={} ceiling_mib={}",
               view.sample->name, record.target_kib / kKibPerMib, guarded / kKibPerMib,
               floor / kKibPerMib, view.limits.ceiling_kib / kKibPerMib);
  record.target_kib = guarded;
  policy_state_.vms[view.sample->name].last_target_kib = guarded;
}

void Controller::restorePolicyMemory(const PolicyMemory& saved) {
  if (saved.policy.empty()) {
    return;
  }
  if (saved.policy != settings_.policy_name) {
    spdlog::info("policy-memory-dropped policy={} reason=\"the configured policy is {}\"",
                 saved.policy, settings_.policy_name);
    return;
  }
  auto loaded = policy_->loadMemory(saved.memory);
  if (!loaded) {
    spdlog::warn("policy-memory-dropped policy={} error=\"{}\"", saved.policy,
                 loaded.error().message);
  }
}

PolicyMemory Controller::policyMemory() const {
  nlohmann::json memory = policy_->saveMemory();
  if (memory.is_null()) {
    return {};
  }
  return PolicyMemory{.policy = settings_.policy_name, .memory = std::move(memory)};
}

StateDump Controller::dumpState() const {
  StateDump dump{.snapshot = snapshot_,
                 .control = {},
                 .history = policy_state_,
                 .policy_memory = policyMemory()};
  for (const auto& [name, record] : records_) {
    dump.control[name] = VmControl{.target_kib = record.target_kib,
                                   .state = std::string(policy::toString(record.verdict.state))};
  }
  return dump;
}

}  // namespace balloond
