// SPDX-License-Identifier: Apache-2.0
#include "daemon/evaluate.h"

#include <map>
#include <string>
#include <vector>

#include "daemon/compile.h"
#include "daemon/controller.h"
#include "daemon/sample_check.h"
#include "daemon/vm_limits.h"
#include "policy/guards.h"

namespace balloond {

namespace {

policy::AckState derivedState(const VmSample& vm, bool excluded, double now_s) {
  if (excluded) {
    return policy::AckState::kExcluded;
  }
  if (!vm.has_balloon) {
    return policy::AckState::kNoDriver;
  }
  const double age = now_s - vm.guest.last_update_s;
  if (vm.guest.last_update_s <= 0 || vm.stats_period_s <= 0 || age > 3 * vm.stats_period_s) {
    return policy::AckState::kStale;
  }
  return policy::AckState::kSettled;
}

}  // namespace

Result<nlohmann::json> evaluateDump(const StateDump& dump, const config::Config& config) {
  auto compiled = compile(config);
  if (!compiled) {
    return compiled.error();
  }
  const ControllerSettings& settings = compiled->settings;
  const Snapshot& snap = dump.snapshot;
  VmLimitIndex limit_index(settings.overrides, settings.default_floor_kib);
  policy::PolicyInput input{.now_s = snap.time_s,
                            .host = snap.host,
                            .host_reserve_kib = settings.guards.host_reserve_kib,
                            .vms = {}};
  // The dump's samples go through the controller's check: what fails is withheld (copies, so the
  // views can point at the withheld stats), and the VM is stale with the problem as its reason.
  std::vector<VmSample> samples;
  samples.reserve(snap.vms.size());
  std::map<std::string, std::string> state_reasons;
  for (const auto& raw : snap.vms) {
    if (!raw.running) {
      continue;
    }
    const VmSample& vm = samples.emplace_back(raw);
    const auto fault = checkSample(vm, vm.actual_kib, snap.time_s);
    if (fault) {
      samples.back().guest = withheldStats(vm.guest, snap.time_s);
    }
    const policy::VmLimits limits = limit_index.limitsFor(vm);
    auto state = derivedState(vm, limits.excluded, snap.time_s);
    int64_t target = vm.actual_kib;
    if (auto it = dump.control.find(vm.name); it != dump.control.end()) {
      target = it->second.target_kib;
      if (!it->second.state.empty()) {
        auto named = policy::ackStateFromString(it->second.state);
        if (!named) {
          return Error{"snapshot: vm '" + vm.name + "': unknown state '" + it->second.state + "'"};
        }
        state = limits.excluded ? policy::AckState::kExcluded : *named;
      }
    }
    if (fault && (state == policy::AckState::kSettled || state == policy::AckState::kConverging ||
                  state == policy::AckState::kStale)) {
      state = policy::AckState::kStale;
      state_reasons[vm.name] = "inconsistent stats: " + fault->detail;
    }
    input.vms.push_back(policy::VmView{.sample = &vm,
                                       .limits = limits,
                                       .target_kib = target,
                                       .ack = state,
                                       .stats_fresh = state != policy::AckState::kStale});
  }
  if (dump.policy_memory.policy == config.policy.name) {  // another policy's is not for this one
    auto loaded = compiled->policy->loadMemory(dump.policy_memory.memory);
    if (!loaded) {
      return Error{"snapshot.policy_memory." + loaded.error().message};
    }
  }
  policy::PolicyState history = dump.history;
  const auto proposed = compiled->policy->decide(input, history);
  const auto guarded = policy::applyGuards(input, proposed, settings.guards, history);

  std::map<std::string, const policy::Decision*> by_vm;
  for (const auto& d : guarded) {
    by_vm.insert_or_assign(std::string(d.vm), &d);
  }
  nlohmann::json decisions = nlohmann::json::array();
  for (const auto& view : input.vms) {
    const VmSample& vm = *view.sample;
    nlohmann::json d = {{"vm", vm.name},
                        {"state", policy::toString(view.ack)},
                        {"actual_kib", vm.actual_kib},
                        {"current_target_kib", view.target_kib},
                        {"floor_kib", policy::effectiveFloorKib(view, settings.guards)},
                        {"ceiling_kib", view.limits.ceiling_kib}};
    if (auto why = state_reasons.find(vm.name); why != state_reasons.end()) {
      d["state_reason"] = why->second;
    }
    auto found = by_vm.find(vm.name);
    if (found == by_vm.end()) {
      d["target_kib"] = view.target_kib;
      d["changed"] = false;
      d["reason"] = view.ack == policy::AckState::kNoDriver ? "no-driver" : "excluded";
    } else {
      d["target_kib"] = found->second->target_kib;
      d["changed"] = found->second->target_kib != view.target_kib;
      d["reason"] = found->second->reason;
    }
    decisions.push_back(std::move(d));
  }
  return nlohmann::json{
      {"time_s", snap.time_s}, {"policy", config.policy.name}, {"decisions", std::move(decisions)}};
}

}  // namespace balloond
