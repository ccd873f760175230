// SPDX-License-Identifier: Apache-2.0
#include "daemon/admin/scrape_request.h"

namespace balloond {

namespace {

// The next space-separated word of `line` from `pos` (moved past it).
std::string_view word(std::string_view line, std::size_t& pos) {
  while (pos < line.size() && (line[pos] == ' ' || line[pos] == '\t')) {
    ++pos;
  }
  const std::size_t start = pos;
  while (pos < line.size() && line[pos] != ' ' && line[pos] != '\t') {
    ++pos;
  }
  return line.substr(start, pos - start);
}

}  // namespace

ScrapeRequest parseScrapeRequest(std::string_view head) {
  const std::string_view line = head.substr(0, head.find_first_of("\r\n"));
  std::size_t pos = 0;
  const std::string_view method = word(line, pos);
  const std::string_view target = word(line, pos);
  if (method != "GET") {
    return ScrapeRequest::kMethodNotAllowed;
  }
  if (target != "/metrics" && !target.starts_with("/metrics?")) {
    return ScrapeRequest::kNotFound;
  }
  return ScrapeRequest::kMetrics;
}

}  // namespace balloond
