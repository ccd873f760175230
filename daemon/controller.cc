#include "daemon/controller.h"

#include <fnmatch.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "policy/registry.h"

namespace balloond {

ControlSettings settingsFromConfig(const config::Config& config) {
  const auto& g = config.guards;
  return ControlSettings{
      .policy_name = config.policy.name,
      .guards =
          policy::Guards{
              .inflate_step_kib = mibToKib(g.inflate_step_mib),
              .deflate_step_kib = mibToKib(g.deflate_step_mib),
              .min_change_kib = mibToKib(g.min_change_mib),
              .need_margin_kib = mibToKib(g.need_margin_mib),
              .grow_holdoff_s = g.grow_holdoff_s,
              .host_reserve_kib = mibToKib(g.host_reserve_mib),
          },
      .default_floor_kib = mibToKib(config.default_floor_mib),
      .overrides = config.vms,
  };
}

Result<std::unique_ptr<policy::Policy>> makePolicy(const config::PolicySpec& spec) {
  return policy::Registry::instance().create(spec.name, spec.params);
}

Controller::Controller(Channel& channel, std::unique_ptr<policy::Policy> policy,
                       ControlSettings settings)
    : channel_(channel), policy_(std::move(policy)), settings_(std::move(settings)) {}

void Controller::reconfigure(std::unique_ptr<policy::Policy> policy, ControlSettings settings) {
  policy_ = std::move(policy);
  settings_ = std::move(settings);
}

policy::VmLimits Controller::limitsFor(const VmSample& vm) const {
  policy::VmLimits limits{
      .floor_kib = settings_.default_floor_kib, .ceiling_kib = vm.max_kib, .excluded = false};
  for (const auto& o : settings_.overrides) {
    if (fnmatch(o.match.c_str(), vm.name.c_str(), 0) != 0) {
      continue;
    }
    if (o.floor_mib) {
      limits.floor_kib = mibToKib(*o.floor_mib);
    }
    if (o.ceiling_mib) {
      limits.ceiling_kib = mibToKib(*o.ceiling_mib);
    }
    if (o.excluded) {
      limits.excluded = *o.excluded;
    }
  }
  // The hypervisor's own floor hint and exclusion (channel-reported) come on top of the config.
  limits.floor_kib = std::max(limits.floor_kib, vm.min_guarantee_kib);
  limits.excluded = limits.excluded || !vm.exclude_reason.empty();
  limits.ceiling_kib = std::clamp<int64_t>(limits.ceiling_kib, 0, vm.max_kib);
  limits.floor_kib = std::clamp<int64_t>(limits.floor_kib, 0, limits.ceiling_kib);
  return limits;
}

policy::AckState Controller::deriveState(const VmSample& vm, const VmRecord& record, bool excluded,
                                         double now_s) const {
  using policy::AckState;
  if (excluded) {
    return AckState::kExcluded;
  }
  if (!vm.has_balloon) {
    return AckState::kNoDriver;
  }
  const double age = now_s - vm.guest.last_update_s;
  if (vm.guest.last_update_s <= 0 || vm.stats_period_s <= 0 || age > 3 * vm.stats_period_s) {
    return AckState::kStale;
  }
  const int64_t tolerance = std::max<int64_t>(kKibPerMib, record.target_kib / 200);
  return std::abs(vm.actual_kib - record.target_kib) <= tolerance ? AckState::kSettled
                                                                  : AckState::kConverging;
}

void Controller::refreshState(const VmSample& vm, VmRecord& record, bool excluded, double now_s) {
  const policy::AckState state = deriveState(vm, record, excluded, now_s);
  if (state != record.state) {
    spdlog::info("vm-state vm={} from={} to={}", vm.name, policy::toString(record.state),
                 policy::toString(state));
    record.state = state;
  }
}

void Controller::forgetGoneVms(const Snapshot& snap) {
  std::set<std::string> present;
  for (const auto& vm : snap.vms) {
    present.insert(vm.name);
  }
  for (auto it = records_.begin(); it != records_.end();) {
    if (present.contains(it->first)) {
      ++it;
      continue;
    }
    spdlog::info("vm-removed vm={}", it->first);
    policy_state_.vms.erase(it->first);
    it = records_.erase(it);
  }
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
  report.time_s = snapshot_.time_s;
  forgetGoneVms(snapshot_);

  policy::PolicyInput input{.now_s = snapshot_.time_s,
                            .host = snapshot_.host,
                            .host_reserve_kib = settings_.guards.host_reserve_kib,
                            .vms = {}};
  for (const auto& vm : snapshot_.vms) {
    auto [it, added] = records_.try_emplace(vm.name);
    VmRecord& record = it->second;
    if (added) {
      record.target_kib = vm.actual_kib;
      record.last_change_s = snapshot_.time_s;
      spdlog::info("vm-added vm={} max_mib={} actual_mib={}", vm.name, vm.max_kib / kKibPerMib,
                   vm.actual_kib / kKibPerMib);
    }
    const policy::VmLimits limits = limitsFor(vm);
    refreshState(vm, record, limits.excluded, snapshot_.time_s);
    input.vms.push_back(policy::VmView{.sample = &vm,
                                       .limits = limits,
                                       .target_kib = record.target_kib,
                                       .ack = record.state,
                                       .stats_fresh = record.state != policy::AckState::kStale});
  }

  const auto proposed = policy_->decide(input, policy_state_);
  const auto guarded = policy::applyGuards(input, proposed, settings_.guards, policy_state_);
  pushChanges(guarded, snapshot_.time_s, report);
  rebuildStatus(input);
  return report;
}

void Controller::pushChanges(const std::vector<policy::Decision>& decisions, double now_s,
                             TickReport& report) {
  for (const auto& d : decisions) {
    VmRecord& record = records_.at(d.vm);
    if (d.target_kib == record.target_kib) {
      continue;
    }
    auto status = channel_.push(d.vm, d.target_kib);
    if (!status) {
      ++report.push_failures;
      spdlog::warn("push-failed vm={} to_mib={} error=\"{}\"", d.vm, d.target_kib / kKibPerMib,
                   status.error().message);
      continue;
    }
    spdlog::info("target-set vm={} from_mib={} to_mib={} reason={}", d.vm,
                 record.target_kib / kKibPerMib, d.target_kib / kKibPerMib, d.reason);
    report.changes.push_back({d.vm, record.target_kib, d.target_kib, d.reason});
    policy::VmPolicyState& ps = policy_state_.vms[d.vm];
    (d.target_kib > record.target_kib ? ps.last_grow_s : ps.last_shrink_s) = now_s;
    ps.last_target_kib = d.target_kib;
    ps.last_reason = d.reason;
    record.target_kib = d.target_kib;
    record.pushed = true;
    record.reason = d.reason;
    record.last_change_s = now_s;
  }
}

void Controller::rebuildStatus(const policy::PolicyInput& input) {
  status_.clear();
  for (const auto& view : input.vms) {
    const VmSample& vm = *view.sample;
    VmRecord& record = records_.at(vm.name);
    refreshState(vm, record, view.limits.excluded, input.now_s);
    status_.push_back(VmStatus{
        .name = vm.name,
        .max_kib = vm.max_kib,
        .actual_kib = vm.actual_kib,
        .target_kib = record.target_kib,
        .floor_kib = view.limits.floor_kib,
        .ceiling_kib = view.limits.ceiling_kib,
        .available_kib = vm.guest.available_kib,
        .state = record.state,
        .reason = !vm.exclude_reason.empty() ? vm.exclude_reason
                  : !vm.note.empty()         ? vm.note
                                             : record.reason,
        .last_change_s = record.last_change_s,
    });
  }
}

}  // namespace balloond
