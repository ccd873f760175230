// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "policy/policy.h"
#include "proto/result.h"

namespace balloond::policy {

// The largest size a policy's memory may hold (1 EiB): no guest is larger, and a window of such
// sizes cannot overflow when summed.
constexpr int64_t kMaxMemoryKib = int64_t{1} << 50;

// Reads one JSON object of a policy's own memory (Policy::loadMemory), which comes from a dump or
// the state file and so is untrusted. Keeps the first problem with its JSON path ("memory.vms.web1
// .actual_window_kib: expected an array of sizes in KiB"). Absent keys leave their field as it
// was; unknown keys are ignored.
class MemoryReader {
 public:
  MemoryReader(const nlohmann::json& j, std::string path);

  // A number within [min, max].
  void number(const char* key, double& out, double min, double max);
  // An array of sizes in KiB (integers in [0, kMaxMemoryKib]); only the newest `keep` are kept.
  void kibs(const char* key, std::vector<int64_t>& out, std::size_t keep);
  // An array of fractions in [0, 1]; only the newest `keep` are kept.
  void fractions(const char* key, std::deque<double>& out, std::size_t keep);
  // For each member of the object at `key` (VM name -> its memory): read(name, its reader).
  void each(const char* key, const std::function<void(const std::string&, MemoryReader&)>& read);

  Status status() const;

 private:
  // The value at `key` when it is there and no problem was found yet; nullptr otherwise.
  const nlohmann::json* find(const char* key);
  void fail(const std::string& key, const std::string& problem);

  const nlohmann::json& j_;
  std::string path_;
  std::string error_;
};

// Drops the memory of VMs that are not in this tick's input: they have left the host, and one
// that comes back under the same name starts fresh. `kept`, when known, is how many entries the
// policy found or made this tick for VMs of `input` (whose names are unique): a map no larger holds
// no VM that is gone, and the usual tick skips the scan.
template <typename T>
void forgetGoneVms(std::unordered_map<std::string, T>& vms, const PolicyInput& input,
                   std::size_t kept = std::numeric_limits<std::size_t>::max()) {
  constexpr std::size_t kUnknown = std::numeric_limits<std::size_t>::max();
  if (vms.empty() || (kept != kUnknown && vms.size() <= kept)) {
    return;
  }
  std::unordered_set<std::string_view> present;
  present.reserve(input.vms.size());
  for (const auto& v : input.vms) {
    present.insert(v.sample->name);
  }
  std::erase_if(vms, [&](const auto& entry) { return !present.contains(entry.first); });
}

}  // namespace balloond::policy
