// SPDX-License-Identifier: Apache-2.0
#include "daemon/state/codec.h"

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

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

// Limits on what a state file may say. The file is untrusted (a disk, an operator's editor, a
// bug of an older version): a value outside them makes the whole file corrupt, never a number
// the controller acts on. Sizes are the config's largest (16 TiB); times stay far from where a
// double stops counting seconds; strings and lists are bounded so a huge file cannot grow the
// daemon without bound.
constexpr int64_t kMaxKib = int64_t{16777216} * 1024;
constexpr double kMaxAbsSeconds = 1e12;
constexpr std::size_t kMaxText = 4096;
constexpr std::size_t kMaxListEntries = 4096;

// Reads typed, range-checked fields of one JSON object of the state file; the first problem is
// kept with its JSON path. Never converts a fraction or an out-of-range number to an integer.
class FieldReader {
 public:
  FieldReader(const json& j, std::string path) : j_(j), path_(std::move(path)) {
    if (!j_.is_object()) {
      fail("", "expected an object, got " + describe(j_));
    }
  }

  [[nodiscard]] bool ok() const { return error_.empty(); }
  [[nodiscard]] const std::string& error() const { return error_; }
  [[nodiscard]] bool has(const char* key) const { return ok() && j_.contains(key); }
  [[nodiscard]] std::string path(const std::string& key) const { return path_ + "." + key; }

  int64_t integer(const char* key, int64_t min, int64_t max) {
    const json* v = field(key);
    if (v == nullptr) {
      return 0;
    }
    if (!v->is_number_integer() ||
        (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(max)) ||
        v->get<int64_t>() < min || v->get<int64_t>() > max) {
      fail(key, "expected an integer from " + std::to_string(min) + " to " + std::to_string(max) +
                    ", got " + describe(*v));
      return 0;
    }
    return v->get<int64_t>();
  }
  std::optional<int64_t> optionalInteger(const char* key, int64_t min, int64_t max) {
    return has(key) ? std::optional(integer(key, min, max)) : std::nullopt;
  }
  std::optional<bool> optionalFlag(const char* key) {
    return has(key) ? std::optional(flag(key)) : std::nullopt;
  }
  double number(const char* key, double min, double max) {
    const json* v = field(key);
    if (v == nullptr) {
      return 0;
    }
    if (!v->is_number() || !(v->get<double>() >= min && v->get<double>() <= max)) {
      fail(key, "expected a number from " + json(min).dump() + " to " + json(max).dump() +
                    ", got " + describe(*v));
      return 0;
    }
    return v->get<double>();
  }
  double seconds(const char* key) { return number(key, -kMaxAbsSeconds, kMaxAbsSeconds); }
  bool flag(const char* key) {
    const json* v = field(key);
    if (v != nullptr && !v->is_boolean()) {
      fail(key, "expected true or false, got " + describe(*v));
      return false;
    }
    return v != nullptr && v->get<bool>();
  }
  std::string text(const char* key) {
    const json* v = field(key);
    if (v == nullptr) {
      return {};
    }
    if (!v->is_string() || v->get_ref<const std::string&>().size() > kMaxText) {
      fail(key, "expected a string of at most " + std::to_string(kMaxText) + " bytes");
      return {};
    }
    return v->get<std::string>();
  }
  // A list of at most kMaxListEntries; nullptr (with the problem kept) otherwise.
  const json* list(const char* key) {
    const json* v = field(key);
    if (v != nullptr && (!v->is_array() || v->size() > kMaxListEntries)) {
      fail(key, "expected a list of at most " + std::to_string(kMaxListEntries) + " entries");
      return nullptr;
    }
    return v;
  }
  // An object; nullptr (with the problem kept) otherwise.
  const json* object(const char* key) {
    const json* v = field(key);
    if (v != nullptr && !v->is_object()) {
      fail(key, "expected an object, got " + describe(*v));
      return nullptr;
    }
    return v;
  }
  // Keeps `problem` for `key` of this object (empty: the object itself), unless one came first.
  void fail(const std::string& key, const std::string& problem) {
    failAt(key.empty() ? path_ : path(key), problem);
  }
  void failAt(const std::string& where, const std::string& problem) {
    if (error_.empty()) {
      error_ = where + ": " + problem;
    }
  }

 private:
  static std::string describe(const json& v) {
    const std::string text = v.dump();
    return text.size() <= 40 ? text : text.substr(0, 40) + "...";
  }
  const json* field(const char* key) {
    if (!ok()) {
      return nullptr;
    }
    if (!j_.contains(key)) {
      fail(key, "missing");
      return nullptr;
    }
    return &j_.at(key);
  }

  const json& j_;
  std::string path_;
  std::string error_;
};

AckMemory ackFromJson(FieldReader& r) {
  AckMemory a{.target_kib = r.integer("target_kib", 0, kMaxKib),
              .ever_moved = r.flag("ever_moved"),
              .hold_until_s = r.seconds("hold_until_s"),
              .stuck_direction = static_cast<int>(r.integer("stuck_direction", -1, 1)),
              .stuck_reason = r.text("stuck_reason"),
              .stalled = {}};
  const json* stalled = r.list("stalled");
  for (std::size_t i = 0; stalled != nullptr && r.ok() && i < stalled->size(); ++i) {
    const json& e = stalled->at(i);
    const std::string at = r.path("stalled") + "[" + std::to_string(i) + "]";
    if (!e.is_array() || e.size() != 2 || !e[0].is_number() || !e[1].is_number() ||
        !(std::abs(e[0].get<double>()) <= kMaxAbsSeconds) ||
        !(e[1].get<double>() >= 0 && e[1].get<double>() <= kMaxAbsSeconds)) {
      r.failAt(at, "expected [time, seconds] within +-1e12 s");
      break;
    }
    a.stalled.emplace_back(e[0].get<double>(), e[1].get<double>());
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
  if (!j.is_object()) {
    return Error{"state: not a JSON object"};
  }
  FieldReader top(j, "state");
  // Version 1 is version 2 without the policy's memory: it is read as is, and the policy starts
  // with fresh memory.
  const auto version = top.integer("version", 1, PersistedState::kVersion);
  PersistedState s;
  s.clock_s = top.seconds("clock_s");
  s.paused = top.flag("paused");
  const json* vms = top.object("vms");
  if (!top.ok()) {
    return Error{top.error()};
  }
  for (const auto& [name, v] : vms->items()) {
    if (name.empty() || name.size() > kMaxText) {
      return Error{"state.vms: a VM name of 1 to " + std::to_string(kMaxText) + " bytes expected"};
    }
    FieldReader r(v, "state.vms." + name);
    PersistedVm vm;
    if (const json* o = r.has("runtime_override") ? r.object("runtime_override") : nullptr) {
      FieldReader ro(*o, r.path("runtime_override"));
      vm.runtime_override =
          control::VmOverride{.pin_kib = ro.optionalInteger("pin_kib", 0, kMaxKib),
                              .floor_kib = ro.optionalInteger("floor_kib", 0, kMaxKib),
                              .ceiling_kib = ro.optionalInteger("ceiling_kib", 0, kMaxKib),
                              .excluded = ro.optionalFlag("excluded")};
      if (!ro.ok()) {
        return Error{ro.error()};
      }
    }
    vm.known = r.has("target_kib");
    if (vm.known) {
      vm.target_kib = r.integer("target_kib", 0, kMaxKib);
      vm.reason = r.text("reason");
      vm.last_change_s = r.seconds("last_change_s");
      vm.state = r.text("state");
      vm.state_reason = r.text("state_reason");
      const json* decisions = r.list("decisions");
      for (std::size_t i = 0; decisions != nullptr && r.ok() && i < decisions->size(); ++i) {
        FieldReader d(decisions->at(i), r.path("decisions") + "[" + std::to_string(i) + "]");
        control::DecisionEntry entry{.time_s = d.seconds("time_s"),
                                     .from_kib = d.integer("from_kib", 0, kMaxKib),
                                     .to_kib = d.integer("to_kib", 0, kMaxKib),
                                     .reason = d.text("reason")};
        if (!d.ok()) {
          return Error{d.error()};
        }
        vm.history.push_back(std::move(entry));
      }
      const json* ack = r.object("ack");
      if (ack != nullptr) {
        FieldReader a(*ack, r.path("ack"));
        vm.ack = ackFromJson(a);
        if (!a.ok()) {
          return Error{a.error()};
        }
      }
      vm.last_grow_s = r.seconds("last_grow_s");
      vm.last_shrink_s = r.seconds("last_shrink_s");
    }
    if (!r.ok()) {
      return Error{r.error()};
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
}

}  // namespace balloond
