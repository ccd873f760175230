// SPDX-License-Identifier: Apache-2.0
#include "proto/control.h"

#include <algorithm>
#include <limits>

#include "proto/codec.h"
#include "proto/json_line.h"

namespace balloond::control {

using nlohmann::json;

namespace {

const char* typeName(const json& v) {
  return v.type_name();
}

template <typename T>
void putOptional(json& j, const char* key, const std::optional<T>& v) {
  if (v) {
    j[key] = *v;
  }
}

// Reads a field from a decoded message; nlohmann throws on a missing key or a wrong type, and
// the callers turn that into an Error.
template <typename T>
std::optional<T> getOptional(const json& j, const char* key) {
  if (!j.contains(key) || j.at(key).is_null()) {
    return std::nullopt;
  }
  return j.at(key).get<T>();
}

template <typename T, typename F>
Result<T> decode(const char* what, F&& f) {
  try {
    return f();
  } catch (const json::exception& e) {
    return Error{std::string(what) + ": " + e.what()};
  }
}

// `text` with each control character written out ("\\n", "\\t", "\\x1b"), so an answer's
// text stays one printable line whatever name it echoes.
std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u != 0x7f) {
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else {
      constexpr std::string_view kHex = "0123456789abcdef";
      out += "\\x";
      out += kHex[u >> 4U];
      out += kHex[u & 0xfU];
    }
  }
  return out;
}

const std::string kTooDeep =
    "nested too deeply: at most " + std::to_string(kMaxDepth) + " levels of [ and {";

}  // namespace

Response answer(ResultCode code, std::string text, json arguments) {
  return Response{.result = code, .text = std::move(text), .arguments = std::move(arguments)};
}
Response ok(std::string text, json arguments) {
  return answer(ResultCode::kOk, std::move(text), std::move(arguments));
}
Response error(std::string text) {
  return answer(ResultCode::kError, std::move(text));
}

std::string encode(const Request& request) {
  json j = {{"command", request.command}, {"arguments", request.arguments}};
  return j.dump() + "\n";
}

std::string encode(const Response& response) {
  json j = {{"result", static_cast<int>(response.result)}, {"text", printable(response.text)}};
  if (!response.arguments.is_null()) {
    j["arguments"] = response.arguments;
  }
  // Replace invalid UTF-8 (echoed from a bad request) instead of throwing.
  return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

Result<Request> parseRequest(std::string_view line) {
  if (nestsDeeperThan(line, kMaxDepth)) {
    return Error{"request " + kTooDeep};
  }
  json j = parseJsonLine(line);
  if (j.is_discarded()) {
    return Error{"malformed JSON: expected one JSON object per line"};
  }
  if (!j.is_object()) {
    return Error{std::string("request: expected an object, got ") + typeName(j)};
  }
  for (const auto& [key, value] : j.items()) {
    if (key != "command" && key != "arguments") {
      return Error{"request: unknown key '" + key + "' (known: command, arguments)"};
    }
  }
  if (!j.contains("command") || !j.at("command").is_string() ||
      j.at("command").get<std::string>().empty()) {
    return Error{"request.command: expected a non-empty string"};
  }
  Request r{.command = j.at("command").get<std::string>()};
  if (j.contains("arguments") && !j.at("arguments").is_null()) {
    if (!j.at("arguments").is_object()) {
      return Error{std::string("request.arguments: expected an object, got ") +
                   typeName(j.at("arguments"))};
    }
    r.arguments = j.at("arguments");
  }
  return r;
}

Result<Response> parseResponse(std::string_view line) {
  if (nestsDeeperThan(line, kMaxDepth)) {
    return Error{"response " + kTooDeep};
  }
  json j = parseJsonLine(line);
  if (j.is_discarded() || !j.is_object()) {
    return Error{"malformed response: expected one JSON object per line"};
  }
  if (!j.contains("result") || !j.at("result").is_number_integer()) {
    return Error{"response.result: expected an integer"};
  }
  const int code = j.at("result").get<int>();
  if (code < 0 || code > static_cast<int>(ResultCode::kForbidden)) {
    return Error{"response.result: unknown code " + std::to_string(code)};
  }
  Response r{.result = static_cast<ResultCode>(code), .text = {}, .arguments = nullptr};
  if (j.contains("text") && j.at("text").is_string()) {
    r.text = j.at("text").get<std::string>();
  }
  if (j.contains("arguments")) {
    r.arguments = j.at("arguments");
  }
  return r;
}

Arguments::Arguments(const json& args, std::initializer_list<std::string_view> known)
    : args_(args), known_(known) {}

Status Arguments::check() const {
  if (!args_.is_object()) {
    return Error{"arguments: expected an object"};
  }
  for (const auto& [key, value] : args_.items()) {
    if (std::find(known_.begin(), known_.end(), key) == known_.end()) {
      std::string list;
      for (auto k : known_) {
        list += (list.empty() ? "" : ", ") + std::string(k);
      }
      return Error{"unknown argument '" + key + "'" +
                   (list.empty() ? " (this command takes none)" : " (known: " + list + ")")};
    }
  }
  return Ok{};
}

bool Arguments::has(std::string_view name) const {
  return args_.is_object() && args_.contains(name) && !args_.at(name).is_null();
}

Result<std::string> Arguments::text(std::string_view name) const {
  if (!has(name)) {
    return Error{"argument '" + std::string(name) + "': missing"};
  }
  const json& v = args_.at(name);
  if (!v.is_string() || v.get<std::string>().empty()) {
    return Error{"argument '" + std::string(name) + "': expected a non-empty string, got " +
                 typeName(v)};
  }
  return v.get<std::string>();
}

Result<int64_t> Arguments::integer(std::string_view name, int64_t min, int64_t max) const {
  if (!has(name)) {
    return Error{"argument '" + std::string(name) + "': missing"};
  }
  const json& v = args_.at(name);
  if (!v.is_number_integer()) {
    return Error{"argument '" + std::string(name) + "': expected an integer, got " + typeName(v)};
  }
  const auto range = [&](const std::string& got) {
    return Error{"argument '" + std::string(name) + "': must be between " + std::to_string(min) +
                 " and " + std::to_string(max) + ", got " + got};
  };
  // Above INT64_MAX JSON holds it unsigned; read as int64 it would wrap (2^64-1 to -1).
  if (v.is_number_unsigned() &&
      v.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return range(std::to_string(v.get<uint64_t>()));
  }
  const auto n = v.get<int64_t>();
  if (n < min || n > max) {
    return range(std::to_string(n));
  }
  return n;
}

Result<bool> Arguments::flag(std::string_view name) const {
  if (!has(name)) {
    return Error{"argument '" + std::string(name) + "': missing"};
  }
  const json& v = args_.at(name);
  if (!v.is_boolean()) {
    return Error{"argument '" + std::string(name) + "': expected true or false, got " +
                 typeName(v)};
  }
  return v.get<bool>();
}

json toJson(const VmOverride& o) {
  json j = json::object();
  putOptional(j, "pin_kib", o.pin_kib);
  putOptional(j, "floor_kib", o.floor_kib);
  putOptional(j, "ceiling_kib", o.ceiling_kib);
  putOptional(j, "excluded", o.excluded);
  return j;
}

json toJson(const DecisionEntry& d) {
  return {
      {"time_s", d.time_s}, {"from_kib", d.from_kib}, {"to_kib", d.to_kib}, {"reason", d.reason}};
}

json toJson(const VmInfo& vm) {
  json j = {{"name", vm.name},
            {"max_kib", vm.max_kib},
            {"actual_kib", vm.actual_kib},
            {"target_kib", vm.target_kib},
            {"floor_kib", vm.floor_kib},
            {"ceiling_kib", vm.ceiling_kib},
            {"state", vm.state},
            {"state_reason", vm.state_reason},
            {"reason", vm.reason},
            {"last_change_s", vm.last_change_s},
            {"runtime_override", toJson(vm.runtime_override)}};
  putOptional(j, "available_kib", vm.available_kib);
  if (vm.stats) {
    j["stats"] = balloond::toJson(*vm.stats);
    json decisions = json::array();
    for (const auto& d : vm.decisions) {
      decisions.push_back(toJson(d));
    }
    j["decisions"] = decisions;
  }
  return j;
}

json toJson(const DaemonInfo& d) {
  json j = {{"version", d.version},
            {"uptime_s", d.uptime_s},
            {"channel", {{"name", d.channel}, {"connected", d.channel_connected}}},
            {"paused", d.paused},
            {"tick",
             {{"period_s", d.tick_s},
              {"count", d.ticks},
              {"last_duration_s", d.last_tick_duration_s},
              {"max_duration_s", d.max_tick_duration_s},
              {"max_lateness_s", d.max_tick_lateness_s}}},
            {"host", balloond::toJson(d.host)},
            {"reclaimed_kib", d.reclaimed_kib},
            {"vms_by_state", d.vms_by_state}};
  if (d.channel_error) {
    j["channel"]["error"] = *d.channel_error;
  }
  return j;
}

json toJson(const CommandInfo& c) {
  return {{"name", c.name}, {"mutating", c.mutating}, {"help", c.help}};
}

json toJson(const ReclaimInfo& r) {
  json j = {{"id", r.id},
            {"outcome", r.outcome},
            {"requested_kib", r.requested_kib},
            {"freed_kib", r.freed_kib},
            {"started_s", r.started_s},
            {"plan_kib", r.plan_kib},
            {"refused_by", r.refused_by},
            {"text", r.text}};
  putOptional(j, "finished_s", r.finished_s);
  return j;
}

Result<VmOverride> vmOverrideFromJson(const json& j) {
  return decode<VmOverride>("runtime_override", [&] {
    return VmOverride{.pin_kib = getOptional<int64_t>(j, "pin_kib"),
                      .floor_kib = getOptional<int64_t>(j, "floor_kib"),
                      .ceiling_kib = getOptional<int64_t>(j, "ceiling_kib"),
                      .excluded = getOptional<bool>(j, "excluded")};
  });
}

Result<VmInfo> vmInfoFromJson(const json& j) {
  auto vm = decode<VmInfo>("vm", [&] {
    VmInfo v;
    v.name = j.at("name").get<std::string>();
    v.max_kib = j.at("max_kib").get<int64_t>();
    v.actual_kib = j.at("actual_kib").get<int64_t>();
    v.target_kib = j.at("target_kib").get<int64_t>();
    v.floor_kib = j.at("floor_kib").get<int64_t>();
    v.ceiling_kib = j.at("ceiling_kib").get<int64_t>();
    v.available_kib = getOptional<int64_t>(j, "available_kib");
    v.state = j.at("state").get<std::string>();
    v.state_reason = j.value("state_reason", "");
    v.reason = j.at("reason").get<std::string>();
    v.last_change_s = j.at("last_change_s").get<double>();
    if (j.contains("decisions")) {
      for (const auto& d : j.at("decisions")) {
        v.decisions.push_back(DecisionEntry{.time_s = d.at("time_s").get<double>(),
                                            .from_kib = d.at("from_kib").get<int64_t>(),
                                            .to_kib = d.at("to_kib").get<int64_t>(),
                                            .reason = d.at("reason").get<std::string>()});
      }
    }
    return v;
  });
  if (!vm) {
    return vm;
  }
  if (j.contains("runtime_override")) {
    auto o = vmOverrideFromJson(j.at("runtime_override"));
    if (!o) {
      return o.error();
    }
    vm->runtime_override = *o;
  }
  if (j.contains("stats")) {
    auto stats = guestStatsFromJson(j.at("stats"));
    if (!stats) {
      return Error{"vm." + stats.error().message};
    }
    vm->stats = *stats;
  }
  return vm;
}

Result<DaemonInfo> daemonInfoFromJson(const json& j) {
  return decode<DaemonInfo>("status", [&] {
    DaemonInfo d;
    d.version = j.at("version").get<std::string>();
    d.uptime_s = j.at("uptime_s").get<double>();
    d.channel = j.at("channel").at("name").get<std::string>();
    d.channel_connected = j.at("channel").at("connected").get<bool>();
    d.channel_error = getOptional<std::string>(j.at("channel"), "error");
    d.paused = j.at("paused").get<bool>();
    const json& t = j.at("tick");
    d.tick_s = t.at("period_s").get<double>();
    d.ticks = t.at("count").get<int64_t>();
    d.last_tick_duration_s = t.at("last_duration_s").get<double>();
    d.max_tick_duration_s = t.at("max_duration_s").get<double>();
    d.max_tick_lateness_s = t.at("max_lateness_s").get<double>();
    d.host.total_kib = j.at("host").at("total_kib").get<int64_t>();
    d.host.available_kib = j.at("host").at("available_kib").get<int64_t>();
    d.host.free_kib = getOptional<int64_t>(j.at("host"), "free_kib");
    d.host.psi_some_avg10 = getOptional<double>(j.at("host"), "psi_some_avg10");
    d.reclaimed_kib = j.at("reclaimed_kib").get<int64_t>();
    d.vms_by_state = j.at("vms_by_state").get<std::map<std::string, int64_t>>();
    return d;
  });
}

Result<CommandInfo> commandInfoFromJson(const json& j) {
  return decode<CommandInfo>("command", [&] {
    return CommandInfo{.name = j.at("name").get<std::string>(),
                       .mutating = j.at("mutating").get<bool>(),
                       .help = j.at("help").get<std::string>()};
  });
}

Result<ReclaimInfo> reclaimInfoFromJson(const json& j) {
  return decode<ReclaimInfo>("reclaim", [&] {
    return ReclaimInfo{.id = j.at("id").get<uint64_t>(),
                       .outcome = j.at("outcome").get<std::string>(),
                       .requested_kib = j.at("requested_kib").get<int64_t>(),
                       .freed_kib = j.at("freed_kib").get<int64_t>(),
                       .started_s = j.at("started_s").get<double>(),
                       .finished_s = getOptional<double>(j, "finished_s"),
                       .plan_kib = j.at("plan_kib").get<std::map<std::string, int64_t>>(),
                       .refused_by = j.at("refused_by").get<std::vector<std::string>>(),
                       .text = j.at("text").get<std::string>()};
  });
}

}  // namespace balloond::control
