// SPDX-License-Identifier: Apache-2.0
#include "daemon/qmp/replies.h"

#include <cstddef>
#include <limits>

namespace balloond::qmp {
namespace {

using json = nlohmann::json;

constexpr std::size_t kMaxNameBytes = 128;
constexpr uint64_t kBytesPerKib = 1024;

// A non-negative integer, however the JSON number was stored.
std::optional<uint64_t> unsignedFrom(const json& j) {
  if (j.is_number_unsigned()) {
    return j.get<uint64_t>();
  }
  if (j.is_number_integer() && j.get<int64_t>() >= 0) {
    return static_cast<uint64_t>(j.get<int64_t>());
  }
  return std::nullopt;
}

// A size in bytes as KiB; QEMU's sizes are unsigned 64-bit, so every one fits once divided.
std::optional<int64_t> kibFrom(const json& j, const char* key) {
  auto it = j.find(key);
  auto value = it == j.end() ? std::nullopt : unsignedFrom(*it);
  if (!value) {
    return std::nullopt;
  }
  const uint64_t bytes = *value;
  if (bytes == kStatAbsent) {
    return std::nullopt;
  }
  return static_cast<int64_t>(bytes / kBytesPerKib);
}

// A counter (faults): absent as kStatAbsent, and above INT64_MAX it cannot be a real count.
std::optional<int64_t> countFrom(const json& j, const char* key) {
  auto it = j.find(key);
  auto value = it == j.end() ? std::nullopt : unsignedFrom(*it);
  if (!value) {
    return std::nullopt;
  }
  const uint64_t n = *value;
  if (n > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return std::nullopt;
  }
  return static_cast<int64_t>(n);
}

bool usableNameChar(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u > 0x20 && u < 0x7f && c != '/' && c != '"' && c != '\'' && c != '\\';
}

}  // namespace

Result<int64_t> actualFromQueryBalloon(const json& ret) {
  if (!ret.is_object()) {
    return Error{"qmp: query-balloon: the answer is not an object"};
  }
  auto actual = kibFrom(ret, "actual");
  if (!actual) {
    return Error{"qmp: query-balloon: no 'actual' size"};
  }
  return *actual;
}

Result<int64_t> maxFromMemorySummary(const json& ret) {
  if (!ret.is_object()) {
    return Error{"qmp: query-memory-size-summary: the answer is not an object"};
  }
  auto base = kibFrom(ret, "base-memory");
  if (!base || *base <= 0) {
    return Error{"qmp: query-memory-size-summary: no 'base-memory' size"};
  }
  const int64_t plugged = kibFrom(ret, "plugged-memory").value_or(0);
  return *base + plugged;  // each below 2^54 KiB: no overflow
}

std::optional<std::string> nameFromQueryName(const json& ret) {
  if (!ret.is_object()) {
    return std::nullopt;
  }
  auto it = ret.find("name");
  if (it == ret.end() || !it->is_string()) {
    return std::nullopt;
  }
  const auto& name = it->get_ref<const std::string&>();
  if (name.empty() || name.size() > kMaxNameBytes) {
    return std::nullopt;
  }
  for (const char c : name) {
    if (!usableNameChar(c)) {
      return std::nullopt;
    }
  }
  return name;
}

std::optional<std::string> balloonIn(const json& ret, std::string_view parent) {
  if (!ret.is_array()) {
    return std::nullopt;
  }
  for (const auto& child : ret) {
    if (!child.is_object()) {
      continue;
    }
    auto name = child.find("name");
    auto type = child.find("type");
    if (name == child.end() || type == child.end() || !name->is_string() || !type->is_string()) {
      continue;
    }
    const auto& t = type->get_ref<const std::string&>();
    const auto& n = name->get_ref<const std::string&>();
    if (t.starts_with("child<virtio-balloon") && !n.empty() && n.size() <= kMaxNameBytes &&
        n.find('/') == std::string::npos) {
      return std::string(parent) + "/" + n;
    }
  }
  return std::nullopt;
}

Result<GuestStats> guestStatsFromQom(const json& ret) {
  if (!ret.is_object()) {
    return Error{"qmp: guest-stats: the answer is not an object"};
  }
  auto stats = ret.find("stats");
  auto last = ret.find("last-update");
  if (stats == ret.end() || !stats->is_object() || last == ret.end() ||
      !last->is_number_integer()) {
    return Error{"qmp: guest-stats: no 'stats' object or 'last-update' time"};
  }
  GuestStats g;
  g.available_kib = kibFrom(*stats, "stat-available-memory");
  g.usable_kib = g.available_kib;
  g.total_kib = kibFrom(*stats, "stat-total-memory");
  g.unused_kib = kibFrom(*stats, "stat-free-memory");
  g.disk_caches_kib = kibFrom(*stats, "stat-disk-caches");
  g.swap_in_kib = kibFrom(*stats, "stat-swap-in");
  g.swap_out_kib = kibFrom(*stats, "stat-swap-out");
  g.major_faults = countFrom(*stats, "stat-major-faults");
  g.minor_faults = countFrom(*stats, "stat-minor-faults");
  // A time stamp QEMU took with time(): seconds; a negative or absurd one is none.
  const uint64_t seconds = unsignedFrom(*last).value_or(0);
  constexpr uint64_t kYear3000 = 32503680000;
  g.last_update_s = seconds < kYear3000 ? static_cast<double>(seconds) : 0;
  return g;
}

Result<int64_t> pollingIntervalFromQom(const json& ret) {
  auto seconds = unsignedFrom(ret);
  if (!seconds || *seconds > UINT32_MAX) {
    return Error{"qmp: guest-stats-polling-interval: not a number of seconds"};
  }
  return static_cast<int64_t>(*seconds);
}

std::string nameFromSocketPath(std::string_view path) {
  const std::size_t slash = path.rfind('/');
  std::string_view file = slash == std::string_view::npos ? path : path.substr(slash + 1);
  const std::size_t dot = file.rfind('.');
  if (dot != std::string_view::npos && dot > 0) {
    file = file.substr(0, dot);
  }
  return std::string(file);
}

}  // namespace balloond::qmp
