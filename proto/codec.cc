// SPDX-License-Identifier: Apache-2.0
#include "proto/codec.h"

#include <cmath>
#include <map>

namespace balloond {

using nlohmann::json;

namespace {

void putOptional(json& j, const char* key, const std::optional<int64_t>& v) {
  if (v) {
    j[key] = *v;
  }
}

// Reads fields from one JSON object, remembering the first problem with its path.
class Reader {
 public:
  Reader(const json& j, std::string path) : j_(j), path_(std::move(path)) {
    if (!j_.is_object()) {
      fail(path_, "expected an object");
    }
  }

  std::optional<int64_t> optionalKib(const char* key) {
    if (!error_.empty() || !j_.contains(key)) {
      return std::nullopt;
    }
    const json& v = j_.at(key);
    if (!v.is_number_integer() || v.get<int64_t>() < 0) {
      fail(path_ + "." + key, "expected a non-negative integer");
      return std::nullopt;
    }
    return v.get<int64_t>();
  }
  int64_t kib(const char* key) {
    if (error_.empty() && !j_.contains(key)) {
      fail(path_ + "." + key, "missing");
    }
    return optionalKib(key).value_or(0);
  }
  double seconds(const char* key, double fallback) {
    if (!error_.empty() || !j_.contains(key)) {
      return fallback;
    }
    const json& v = j_.at(key);
    if (!v.is_number() || !std::isfinite(v.get<double>()) || v.get<double>() < 0) {
      fail(path_ + "." + key, "expected a non-negative number");
      return fallback;
    }
    return v.get<double>();
  }
  bool flag(const char* key, bool fallback) {
    if (!error_.empty() || !j_.contains(key)) {
      return fallback;
    }
    if (!j_.at(key).is_boolean()) {
      fail(path_ + "." + key, "expected true or false");
      return fallback;
    }
    return j_.at(key).get<bool>();
  }
  std::string text(const char* key) {
    if (!error_.empty()) {
      return {};
    }
    if (!j_.contains(key) || !j_.at(key).is_string() || j_.at(key).get<std::string>().empty()) {
      fail(path_ + "." + key, "expected a non-empty string");
      return {};
    }
    return j_.at(key).get<std::string>();
  }
  void fail(const std::string& where, const std::string& problem) {
    if (error_.empty()) {
      error_ = where + ": " + problem;
    }
  }
  [[nodiscard]] const std::string& error() const { return error_; }

 private:
  const json& j_;
  std::string path_;
  std::string error_;
};

GuestStats readGuest(Reader& r) {
  GuestStats g;
  g.available_kib = r.optionalKib("available_kib");
  g.unused_kib = r.optionalKib("unused_kib");
  g.usable_kib = r.optionalKib("usable_kib");
  g.disk_caches_kib = r.optionalKib("disk_caches_kib");
  g.swap_in_kib = r.optionalKib("swap_in_kib");
  g.swap_out_kib = r.optionalKib("swap_out_kib");
  g.major_faults = r.optionalKib("major_faults");
  g.minor_faults = r.optionalKib("minor_faults");
  g.total_kib = r.optionalKib("total_kib");
  g.last_update_s = r.seconds("last_update_s", 0);
  return g;
}

// Reads the optional history fields of one VM; absent fields keep their defaults, unknown ones
// (such as the policy fields of dumps written before policies kept their own memory) are ignored.
class HistoryReader {
 public:
  HistoryReader(const json& j, std::string path) : j_(j), path_(std::move(path)) {
    if (!j_.is_object()) {
      fail("", "expected an object");
    }
  }
  void number(const char* key, double& out) {
    if (ok() && j_.contains(key)) {
      const json& v = j_.at(key);
      if (!v.is_number() || !std::isfinite(v.get<double>())) {
        fail(key, "expected a number");
        return;
      }
      out = v.get<double>();
    }
  }
  void integer(const char* key, int64_t& out) {
    if (ok() && j_.contains(key)) {
      const json& v = j_.at(key);
      if (!v.is_number_integer()) {
        fail(key, "expected an integer");
        return;
      }
      out = v.get<int64_t>();
    }
  }
  void text(const char* key, std::string& out) {
    if (ok() && j_.contains(key)) {
      if (!j_.at(key).is_string()) {
        fail(key, "expected a string");
        return;
      }
      out = j_.at(key).get<std::string>();
    }
  }
  void fail(const std::string& key, const std::string& problem) {
    if (ok()) {
      error_ = path_ + (key.empty() ? "" : "." + key) + ": " + problem;
    }
  }
  [[nodiscard]] bool ok() const { return error_.empty(); }
  [[nodiscard]] const std::string& error() const { return error_; }

 private:
  const json& j_;
  std::string path_;
  std::string error_;
};

Result<VmHistory> readHistory(const json& j, const std::string& path) {
  VmHistory h;
  HistoryReader r(j, path);
  r.integer("last_target_kib", h.last_target_kib);
  r.number("last_grow_s", h.last_grow_s);
  r.number("last_shrink_s", h.last_shrink_s);
  r.text("last_reason", h.last_reason);
  r.number("counters_s", h.counters_s);
  r.integer("major_faults", h.major_faults);
  r.integer("swap_in_kib", h.swap_in_kib);
  r.number("major_faults_per_s", h.major_faults_per_s);
  r.number("swap_in_kib_per_s", h.swap_in_kib_per_s);
  if (!r.ok()) {
    return Error{r.error()};
  }
  return h;
}

Result<VmControl> readControl(const json& j, const std::string& path, int64_t actual_kib) {
  VmControl c{.target_kib = actual_kib, .state = {}};
  HistoryReader r(j, path);
  r.integer("target_kib", c.target_kib);
  r.text("state", c.state);
  if (r.ok() && c.target_kib < 0) {
    r.fail("target_kib", "expected a non-negative integer");
  }
  if (!r.ok()) {
    return Error{r.error()};
  }
  return c;
}

}  // namespace

json toJson(const GuestStats& g) {
  json j = json::object();
  putOptional(j, "available_kib", g.available_kib);
  putOptional(j, "unused_kib", g.unused_kib);
  putOptional(j, "usable_kib", g.usable_kib);
  putOptional(j, "disk_caches_kib", g.disk_caches_kib);
  putOptional(j, "swap_in_kib", g.swap_in_kib);
  putOptional(j, "swap_out_kib", g.swap_out_kib);
  putOptional(j, "major_faults", g.major_faults);
  putOptional(j, "minor_faults", g.minor_faults);
  putOptional(j, "total_kib", g.total_kib);
  j["last_update_s"] = g.last_update_s;
  return j;
}

json toJson(const VmSample& vm) {
  json j = {{"name", vm.name},
            {"max_kib", vm.max_kib},
            {"actual_kib", vm.actual_kib},
            {"has_balloon", vm.has_balloon},
            {"running", vm.running},
            {"stats_period_s", vm.stats_period_s},
            {"guest", toJson(vm.guest)}};
  putOptional(j, "rss_kib", vm.rss_kib);
  return j;
}

json toJson(const HostSample& host) {
  json j = {{"total_kib", host.total_kib}, {"available_kib", host.available_kib}};
  putOptional(j, "free_kib", host.free_kib);
  if (host.psi_some_avg10) {
    j["psi_some_avg10"] = *host.psi_some_avg10;
  }
  return j;
}

json toJson(const Snapshot& snapshot) {
  json vms = json::array();
  for (const auto& vm : snapshot.vms) {
    vms.push_back(toJson(vm));
  }
  return {{"time_s", snapshot.time_s}, {"host", toJson(snapshot.host)}, {"vms", vms}};
}

Result<GuestStats> guestStatsFromJson(const json& j) {
  Reader r(j, "guest");
  GuestStats g = readGuest(r);
  if (!r.error().empty()) {
    return Error{r.error()};
  }
  return g;
}

Result<Snapshot> snapshotFromJson(const json& j) {
  Snapshot snap;
  Reader top(j, "snapshot");
  snap.time_s = top.seconds("time_s", 0);
  if (!top.error().empty()) {
    return Error{top.error()};
  }
  if (!j.contains("host")) {
    return Error{"snapshot.host: missing"};
  }
  Reader host(j.at("host"), "snapshot.host");
  snap.host.total_kib = host.kib("total_kib");
  snap.host.available_kib = host.kib("available_kib");
  snap.host.free_kib = host.optionalKib("free_kib");
  if (j.at("host").contains("psi_some_avg10")) {
    snap.host.psi_some_avg10 = host.seconds("psi_some_avg10", 0);
  }
  if (!host.error().empty()) {
    return Error{host.error()};
  }
  if (!j.contains("vms") || !j.at("vms").is_array()) {
    return Error{"snapshot.vms: expected an array"};
  }
  std::map<std::string, size_t> seen;  // name -> index, to refuse a name given twice
  for (size_t i = 0; i < j.at("vms").size(); ++i) {
    const std::string path = "snapshot.vms[" + std::to_string(i) + "]";
    Reader r(j.at("vms")[i], path);
    VmSample vm;
    vm.name = r.text("name");
    vm.max_kib = r.kib("max_kib");
    vm.actual_kib = r.kib("actual_kib");
    vm.rss_kib = r.optionalKib("rss_kib");
    vm.has_balloon = r.flag("has_balloon", true);
    vm.running = r.flag("running", true);
    vm.stats_period_s = r.seconds("stats_period_s", 0);
    if (r.error().empty() && j.at("vms")[i].contains("guest")) {
      Reader g(j.at("vms")[i].at("guest"), path + ".guest");
      vm.guest = readGuest(g);
      if (!g.error().empty()) {
        return Error{g.error()};
      }
    }
    if (!r.error().empty()) {
      return Error{r.error()};
    }
    if (auto [at, fresh] = seen.emplace(vm.name, i); !fresh) {
      return Error{path + ".name: VM '" + vm.name + "' is given twice (also vms[" +
                   std::to_string(at->second) + "])"};
    }
    snap.vms.push_back(std::move(vm));
  }
  return snap;
}

json toJson(const VmHistory& history) {
  const VmHistory& h = history;
  return {{"last_target_kib", h.last_target_kib},
          {"last_grow_s", h.last_grow_s},
          {"last_shrink_s", h.last_shrink_s},
          {"last_reason", h.last_reason},
          {"counters_s", h.counters_s},
          {"major_faults", h.major_faults},
          {"swap_in_kib", h.swap_in_kib},
          {"major_faults_per_s", h.major_faults_per_s},
          {"swap_in_kib_per_s", h.swap_in_kib_per_s}};
}

json toJson(const PolicyMemory& memory) {
  return {{"policy", memory.policy}, {"memory", memory.memory}};
}

Result<PolicyMemory> policyMemoryFromJson(const json& j, const std::string& path) {
  if (!j.is_object()) {
    return Error{path + ": expected an object"};
  }
  if (!j.contains("policy") || !j.at("policy").is_string() ||
      j.at("policy").get<std::string>().empty()) {
    return Error{path + ".policy: expected a non-empty string"};
  }
  if (!j.contains("memory")) {
    return Error{path + ".memory: missing"};
  }
  return PolicyMemory{.policy = j.at("policy").get<std::string>(), .memory = j.at("memory")};
}

json toJson(const StateDump& dump) {
  json j = toJson(dump.snapshot);
  for (auto& vm : j["vms"]) {
    const auto name = vm["name"].get<std::string>();
    if (auto it = dump.control.find(name); it != dump.control.end()) {
      vm["control"] = {{"target_kib", it->second.target_kib}, {"state", it->second.state}};
    }
    if (auto it = dump.history.vms.find(name); it != dump.history.vms.end()) {
      vm["history"] = toJson(it->second);
    }
  }
  if (!dump.policy_memory.policy.empty()) {
    j["policy_memory"] = toJson(dump.policy_memory);
  }
  return j;
}

Result<StateDump> stateDumpFromJson(const json& j) {
  auto snap = snapshotFromJson(j);
  if (!snap) {
    return snap.error();
  }
  StateDump dump;
  dump.snapshot = std::move(*snap);
  for (size_t i = 0; i < dump.snapshot.vms.size(); ++i) {
    const json& vm = j.at("vms")[i];
    const std::string path = "snapshot.vms[" + std::to_string(i) + "]";
    const VmSample& sample = dump.snapshot.vms[i];
    if (vm.contains("control")) {
      auto c = readControl(vm.at("control"), path + ".control", sample.actual_kib);
      if (!c) {
        return c.error();
      }
      dump.control[sample.name] = *c;
    }
    if (vm.contains("history")) {
      auto h = readHistory(vm.at("history"), path + ".history");
      if (!h) {
        return h.error();
      }
      dump.history.vms[sample.name] = std::move(*h);
    }
  }
  if (j.contains("policy_memory")) {
    auto m = policyMemoryFromJson(j.at("policy_memory"), "snapshot.policy_memory");
    if (!m) {
      return m.error();
    }
    dump.policy_memory = std::move(*m);
  }
  return dump;
}

}  // namespace balloond
