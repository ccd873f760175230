// SPDX-License-Identifier: Apache-2.0
#include "daemon/state/codec.h"

#include "proto/codec.h"

namespace balloond {

using nlohmann::json;

namespace {

json ackToJson(const AckMemory& a) {
  json stalled = json::array();
  for (const auto& [at, seconds] : a.stalled) {
    stalled.push_back({at, seconds});
  }
  return {{"target_kib", a.target_kib},     {"ever_moved", a.ever_moved},
          {"hold_until_s", a.hold_until_s}, {"stuck_direction", a.stuck_direction},
          {"stuck_reason", a.stuck_reason}, {"stalled", stalled}};
}

AckMemory ackFromJson(const json& j) {
  AckMemory a{.target_kib = j.at("target_kib").get<int64_t>(),
              .ever_moved = j.at("ever_moved").get<bool>(),
              .hold_until_s = j.at("hold_until_s").get<double>(),
              .stuck_direction = j.at("stuck_direction").get<int>(),
              .stuck_reason = j.at("stuck_reason").get<std::string>(),
              .stalled = {}};
  for (const auto& e : j.at("stalled")) {
    a.stalled.emplace_back(e.at(0).get<double>(), e.at(1).get<double>());
  }
  return a;
}

}  // namespace

json toJson(const PersistedState& state) {
  json vms = json::object();
  for (const auto& [name, vm] : state.vms) {
    json v = json::object();
    if (vm.runtime_override) {
      v["runtime_override"] = control::toJson(*vm.runtime_override);
    }
    if (vm.known) {
      json history = json::array();
      for (const auto& d : vm.history) {
        history.push_back(control::toJson(d));
      }
      v["target_kib"] = vm.target_kib;
      v["reason"] = vm.reason;
      v["last_change_s"] = vm.last_change_s;
      v["state"] = vm.state;
      v["state_reason"] = vm.state_reason;
      v["decisions"] = history;
      v["ack"] = ackToJson(vm.ack);
      v["last_grow_s"] = vm.last_grow_s;
      v["last_shrink_s"] = vm.last_shrink_s;
    }
    vms[name] = v;
  }
  json j = {{"version", PersistedState::kVersion},
            {"clock_s", state.clock_s},
            {"paused", state.paused},
            {"vms", vms}};
  if (!state.policy_memory.policy.empty()) {
    j["policy_memory"] = toJson(state.policy_memory);
  }
  return j;
}

Result<PersistedState> persistedStateFromJson(const json& j) {
  std::string where = "state";
  try {
    if (!j.is_object()) {
      return Error{"state: not a JSON object"};
    }
    // Version 1 is version 2 without the policy's memory: it is read as is, and the policy
    // starts with fresh memory.
    const int version = j.at("version").get<int>();
    if (version != 1 && version != PersistedState::kVersion) {
      return Error{"state.version: " + std::to_string(version) +
                   " is not supported (expected 1 or " + std::to_string(PersistedState::kVersion) +
                   ")"};
    }
    PersistedState s;
    s.clock_s = j.at("clock_s").get<double>();
    s.paused = j.at("paused").get<bool>();
    for (const auto& [name, v] : j.at("vms").items()) {
      where = "state.vms." + name;
      PersistedVm vm;
      if (v.contains("runtime_override")) {
        auto o = control::vmOverrideFromJson(v.at("runtime_override"));
        if (!o) {
          return Error{where + ": " + o.error().message};
        }
        vm.runtime_override = *o;
      }
      vm.known = v.contains("target_kib");
      if (vm.known) {
        vm.target_kib = v.at("target_kib").get<int64_t>();
        vm.reason = v.at("reason").get<std::string>();
        vm.last_change_s = v.at("last_change_s").get<double>();
        vm.state = v.at("state").get<std::string>();
        vm.state_reason = v.at("state_reason").get<std::string>();
        for (const auto& d : v.at("decisions")) {
          vm.history.push_back(control::DecisionEntry{.time_s = d.at("time_s").get<double>(),
                                                      .from_kib = d.at("from_kib").get<int64_t>(),
                                                      .to_kib = d.at("to_kib").get<int64_t>(),
                                                      .reason = d.at("reason").get<std::string>()});
        }
        vm.ack = ackFromJson(v.at("ack"));
        vm.last_grow_s = v.at("last_grow_s").get<double>();
        vm.last_shrink_s = v.at("last_shrink_s").get<double>();
      }
      s.vms[name] = std::move(vm);
    }
    if (version >= 2 && j.contains("policy_memory")) {
      // Only its envelope is checked here; content the policy cannot read is dropped at restore.
      auto memory = policyMemoryFromJson(j.at("policy_memory"), "state.policy_memory");
      if (!memory) {
        return memory.error();
      }
      s.policy_memory = std::move(*memory);
    }
    return s;
  } catch (const json::exception& e) {
    return Error{where + ": " + e.what()};
  }
}

}  // namespace balloond
