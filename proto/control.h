// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proto/result.h"
#include "proto/types.h"

// The control socket's protocol: one envelope, its result codes, and a codec for every message.
// Framing: one JSON document per line, each way. See proto/README.md for every command.
namespace balloond::control {

// The answer's `result` field.
enum class ResultCode : int {
  kOk = 0,
  kError = 1,           // bad request, or the command failed
  kUnknownCommand = 2,  // no such command
  kEmpty = 3,           // empty, or the named thing was not found
  kForbidden = 4,       // the caller may not run this command
};

// The most bytes one request line may hold, newline included.
constexpr std::size_t kMaxRequestBytes = std::size_t{64} * 1024;

// The most levels of [ and { a line may nest, the envelope's own included.
constexpr int kMaxDepth = 32;

// {"command": NAME, "arguments": {...}}
struct Request {
  std::string command;
  nlohmann::json arguments = nlohmann::json::object();
};

// {"result": CODE, "text": "...", "arguments": {...}}; `arguments` is omitted when null.
struct Response {
  ResultCode result = ResultCode::kOk;
  std::string text;
  nlohmann::json arguments;
};

Response answer(ResultCode code, std::string text, nlohmann::json arguments = nullptr);
Response ok(std::string text, nlohmann::json arguments = nullptr);
Response error(std::string text);

// One line each, newline included.
std::string encode(const Request& request);
std::string encode(const Response& response);
// Parse one line (a trailing newline is allowed). Errors say what is wrong with the envelope.
Result<Request> parseRequest(std::string_view line);
Result<Response> parseResponse(std::string_view line);

// Reads a request's arguments with type checks; rejects arguments it was not told about.
// Every accessor returns an Error naming the argument; check() reports unknown ones.
class Arguments {
 public:
  Arguments(const nlohmann::json& args, std::initializer_list<std::string_view> known);
  // The first unknown argument, if any.
  [[nodiscard]] Status check() const;
  [[nodiscard]] bool has(std::string_view name) const;
  [[nodiscard]] Result<std::string> text(std::string_view name) const;
  [[nodiscard]] Result<int64_t> integer(std::string_view name, int64_t min, int64_t max) const;
  [[nodiscard]] Result<bool> flag(std::string_view name) const;

 private:
  const nlohmann::json& args_;
  std::vector<std::string_view> known_;
};

// --- Messages. Sizes in KiB, times in seconds.

// A runtime override set with vm-set; each field unset means "not overridden".
struct VmOverride {
  std::optional<int64_t> pin_kib;  // a fixed target
  std::optional<int64_t> floor_kib;
  std::optional<int64_t> ceiling_kib;
  std::optional<bool> excluded;

  [[nodiscard]] bool empty() const { return !pin_kib && !floor_kib && !ceiling_kib && !excluded; }
  friend bool operator==(const VmOverride&, const VmOverride&) = default;
};

// One target the controller pushed, for a VM's decision history.
struct DecisionEntry {
  double time_s = 0;
  int64_t from_kib = 0;
  int64_t to_kib = 0;
  std::string reason;
  friend bool operator==(const DecisionEntry&, const DecisionEntry&) = default;
};

// One VM as vm-list and vm-get show it. vm-list leaves `stats` and `decisions` empty.
struct VmInfo {
  std::string name;
  int64_t max_kib = 0;
  int64_t actual_kib = 0;
  int64_t target_kib = 0;
  int64_t floor_kib = 0;
  int64_t ceiling_kib = 0;
  std::optional<int64_t> available_kib;
  std::string state;
  std::string state_reason;  // why it is in that state (empty when settled or converging)
  std::string reason;        // why its target last changed
  double last_change_s = 0;
  VmOverride runtime_override;
  std::optional<GuestStats> stats;
  std::vector<DecisionEntry> decisions;  // oldest first
};

// The daemon as status-get shows it.
struct DaemonInfo {
  std::string version;
  double uptime_s = 0;
  std::string channel;
  bool channel_connected = false;
  std::optional<std::string> channel_error;
  bool paused = false;
  double tick_s = 0;
  int64_t ticks = 0;
  double last_tick_duration_s = 0;
  double max_tick_duration_s = 0;
  double max_tick_lateness_s = 0;
  HostSample host;
  int64_t reclaimed_kib = 0;  // held by balloons now: sum of max - actual
  std::map<std::string, int64_t> vms_by_state;
};

// An admin reclaim as reclaim and reclaim-get show it.
struct ReclaimInfo {
  uint64_t id = 0;
  std::string outcome;  // in-progress, success, cannot-free or refused
  int64_t requested_kib = 0;
  int64_t freed_kib = 0;
  double started_s = 0;
  std::optional<double> finished_s;
  std::map<std::string, int64_t> plan_kib;  // donor VM -> what it is asked to give
  std::vector<std::string> refused_by;      // donors that did not cooperate
  std::string text;
};

// One command as list-commands shows it.
struct CommandInfo {
  std::string name;
  bool mutating = false;
  std::string help;
};

nlohmann::json toJson(const VmOverride& o);
nlohmann::json toJson(const DecisionEntry& d);
nlohmann::json toJson(const VmInfo& vm);
nlohmann::json toJson(const DaemonInfo& d);
nlohmann::json toJson(const CommandInfo& c);
nlohmann::json toJson(const ReclaimInfo& r);

Result<VmOverride> vmOverrideFromJson(const nlohmann::json& j);
Result<VmInfo> vmInfoFromJson(const nlohmann::json& j);
Result<DaemonInfo> daemonInfoFromJson(const nlohmann::json& j);
Result<CommandInfo> commandInfoFromJson(const nlohmann::json& j);
Result<ReclaimInfo> reclaimInfoFromJson(const nlohmann::json& j);

}  // namespace balloond::control
