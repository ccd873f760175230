#include "proto/codec.h"

#include <cmath>

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
  if (j.at("host").contains("psi_some_avg10")) {
    snap.host.psi_some_avg10 = host.seconds("psi_some_avg10", 0);
  }
  if (!host.error().empty()) {
    return Error{host.error()};
  }
  if (!j.contains("vms") || !j.at("vms").is_array()) {
    return Error{"snapshot.vms: expected an array"};
  }
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
    snap.vms.push_back(std::move(vm));
  }
  return snap;
}

}  // namespace balloond
