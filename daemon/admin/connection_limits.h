// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "proto/result.h"

namespace balloond {

// How many connections the admin surface holds at once. A peer over its limit is answered with
// an error (control socket) or a 503 (metrics) and closed at once.
struct ConnectionLimits {
  int control_total = 64;   // control connections held by peers other than root, together
  int control_per_uid = 8;  // held by one non-root uid
  int control_root = 8;     // further control slots that only root may use
  int metrics_total = 16;   // metrics connections, together (they need no credentials)
};

// Descriptors kept free for the daemon's own files (the state file and its directory, the
// libvirt connection, the journal, config files, /proc) beyond every connection the limits allow.
inline constexpr int kDescriptorReserve = 256;

// The descriptors the daemon may need at most: every connection the limits allow, the two
// listeners, one connection being refused on each, and the reserve.
int64_t descriptorsNeeded(const ConnectionLimits& limits);

// Makes sure RLIMIT_NOFILE covers descriptorsNeeded(limits): raises the soft limit toward the
// hard one if needed, and returns an Error (the daemon does not start) if the hard limit is lower.
// With the limits enforced, the connections can then never take the reserve's descriptors.
Status ensureDescriptorBudget(const ConnectionLimits& limits);

// Counts the open connections per uid and decides whether another may open. Root (uid 0) is not
// held to the per-uid or total limit: it may use any free slot and `root_slots` more.
class ConnectionGate {
 public:
  ConnectionGate(int total, int per_uid, int root_slots);

  // Admits a connection from `uid` (counted until release(uid)), or says why not.
  Status admit(int uid);
  void release(int uid);
  [[nodiscard]] int64_t open() const { return others_ + root_; }

 private:
  int total_;
  int per_uid_;
  int root_slots_;
  int64_t others_ = 0;
  int64_t root_ = 0;
  std::map<int, int64_t> per_uid_open_;
};

// Logs refused connections at most once per interval (the first at once), with how many were
// refused since the last line, so a flood cannot flood the journal.
class RefusalLog {
 public:
  using Clock = std::chrono::steady_clock;
  explicit RefusalLog(std::string event, Clock::duration interval = std::chrono::seconds(10));

  // Records a refusal; returns the line logged, or nullopt if it was only counted.
  std::optional<std::string> refused(std::string_view fields, Clock::time_point now);

 private:
  std::string event_;
  Clock::duration interval_;
  std::optional<Clock::time_point> last_;
  int64_t unlogged_ = 0;
};

}  // namespace balloond
