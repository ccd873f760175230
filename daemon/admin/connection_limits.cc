// SPDX-License-Identifier: Apache-2.0
#include "daemon/admin/connection_limits.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <cerrno>
#include <system_error>
#include <utility>

namespace balloond {

int64_t descriptorsNeeded(const ConnectionLimits& limits) {
  constexpr int kListeners = 2;
  constexpr int kBeingRefused = 2;
  return int64_t{limits.control_total} + limits.control_root + limits.metrics_total + kListeners +
         kBeingRefused + kDescriptorReserve;
}

Status ensureDescriptorBudget(const ConnectionLimits& limits) {
  const auto needed = static_cast<rlim_t>(descriptorsNeeded(limits));
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) {
    return Error{"cannot read RLIMIT_NOFILE: " + std::generic_category().message(errno)};
  }
  if (lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur < needed) {
    if (lim.rlim_max != RLIM_INFINITY && lim.rlim_max < needed) {
      return Error{fmt::format(
          "the open-file limit (RLIMIT_NOFILE, LimitNOFILE= in the unit) is {}: the connection "
          "limits and the reserve for the state file need {}",
          lim.rlim_max, needed)};
    }
    const rlim_t old = lim.rlim_cur;
    lim.rlim_cur = needed;
    if (setrlimit(RLIMIT_NOFILE, &lim) != 0) {
      return Error{"cannot raise RLIMIT_NOFILE to " + std::to_string(needed) + ": " +
                   std::generic_category().message(errno)};
    }
    spdlog::info("nofile-raised from={} to={}", old, needed);
  }
  return Ok{};
}

ConnectionGate::ConnectionGate(int total, int per_uid, int root_slots)
    : total_(total), per_uid_(per_uid), root_slots_(root_slots) {}

Status ConnectionGate::admit(int uid) {
  if (uid == 0) {
    if (others_ + root_ >= int64_t{total_} + root_slots_) {
      return Error{fmt::format("too many connections: {} open", others_ + root_)};
    }
    ++root_;
    return Ok{};
  }
  if (others_ >= total_) {
    return Error{fmt::format("too many connections: {} open (at most {})", others_, total_)};
  }
  int64_t& mine = per_uid_open_[uid];
  if (mine >= per_uid_) {
    return Error{fmt::format("too many connections from uid {}: {} open (at most {} per user)", uid,
                             mine, per_uid_)};
  }
  ++mine;
  ++others_;
  return Ok{};
}

void ConnectionGate::release(int uid) {
  if (uid == 0) {
    --root_;
    return;
  }
  --others_;
  if (auto it = per_uid_open_.find(uid); it != per_uid_open_.end() && --it->second <= 0) {
    per_uid_open_.erase(it);
  }
}

RefusalLog::RefusalLog(std::string event, Clock::duration interval)
    : event_(std::move(event)), interval_(interval) {}

std::optional<std::string> RefusalLog::refused(std::string_view fields, Clock::time_point now) {
  ++unlogged_;
  if (last_ && now - *last_ < interval_) {
    return std::nullopt;
  }
  std::string line = fmt::format("{} {} refused={}", event_, fields, unlogged_);
  spdlog::warn("{}", line);
  last_ = now;
  unlogged_ = 0;
  return line;
}

}  // namespace balloond
