// SPDX-License-Identifier: Apache-2.0
#include "daemon/procfs/procfs.h"

#include <charconv>
#include <fstream>
#include <sstream>

namespace balloond::procfs {
namespace {

// The files are a few KiB; more means this is not procfs.
constexpr std::streamsize kMaxProcFile = std::streamsize{64} * 1024;

std::optional<std::string> slurp(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return std::nullopt;
  }
  std::string text(static_cast<std::size_t>(kMaxProcFile), '\0');
  in.read(text.data(), kMaxProcFile);
  text.resize(static_cast<std::size_t>(in.gcount()));
  return text;
}

// The number after "Key:" on the line that starts with `key`, e.g. "MemTotal:  1234 kB".
std::optional<int64_t> field(std::string_view text, std::string_view key) {
  std::size_t at = 0;
  while (at < text.size()) {
    const std::size_t end = std::min(text.find('\n', at), text.size());
    std::string_view line = text.substr(at, end - at);
    at = end + 1;
    if (!line.starts_with(key) || line.size() <= key.size() || line[key.size()] != ':') {
      continue;
    }
    line.remove_prefix(key.size() + 1);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) {
      line.remove_prefix(1);
    }
    int64_t v = 0;
    auto [ptr, ec] = std::from_chars(line.data(), line.data() + line.size(), v);
    if (ec != std::errc{} || v < 0) {
      return std::nullopt;
    }
    return v;
  }
  return std::nullopt;
}

}  // namespace

Result<HostSample> parseMeminfo(std::string_view text) {
  auto total = field(text, "MemTotal");
  auto available = field(text, "MemAvailable");
  if (!total || !available || *total <= 0) {
    return Error{"/proc/meminfo: no MemTotal or MemAvailable"};
  }
  HostSample h;
  h.total_kib = *total;
  h.available_kib = std::min(*available, *total);
  auto free = field(text, "MemFree");
  auto buffers = field(text, "Buffers");
  auto cached = field(text, "Cached");
  if (free && buffers && cached) {
    h.free_kib = std::min(*total, *free + *buffers + *cached);  // each below 2^54: no overflow
  }
  return h;
}

std::optional<double> parsePressureSomeAvg10(std::string_view text) {
  // "some avg10=0.00 avg60=0.00 avg300=0.00 total=0"
  if (!text.starts_with("some ")) {
    return std::nullopt;
  }
  const std::size_t at = text.find("avg10=");
  if (at == std::string_view::npos) {
    return std::nullopt;
  }
  double v = 0;
  const char* begin = text.data() + at + 6;
  auto [ptr, ec] = std::from_chars(begin, text.data() + text.size(), v);
  if (ec != std::errc{} || v < 0 || v > 100) {
    return std::nullopt;
  }
  return v;
}

std::optional<int64_t> parseStatusRssKib(std::string_view text) {
  return field(text, "VmRSS");
}

Result<HostSample> readHostMemory(const std::string& proc) {
  auto meminfo = slurp(proc + "/meminfo");
  if (!meminfo) {
    return Error{proc + "/meminfo: cannot read it"};
  }
  auto host = parseMeminfo(*meminfo);
  if (!host) {
    return host;
  }
  if (auto pressure = slurp(proc + "/pressure/memory")) {
    host->psi_some_avg10 = parsePressureSomeAvg10(*pressure);
  }
  return host;
}

std::optional<int64_t> processRssKib(pid_t pid, const std::string& proc) {
  auto status = slurp(proc + "/" + std::to_string(pid) + "/status");
  if (!status) {
    return std::nullopt;
  }
  return parseStatusRssKib(*status);
}

}  // namespace balloond::procfs
