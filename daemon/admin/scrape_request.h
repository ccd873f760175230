// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string_view>

namespace balloond {

// What a request head on the metrics port asks for. The head is untrusted bytes from anyone who
// can reach the port: only its request line is read, and only `GET /metrics` (with or without a
// query) is a scrape.
enum class ScrapeRequest { kMetrics, kNotFound, kMethodNotAllowed };

// Reads the request line of `head` (everything up to the first CR or LF): the method, then the
// target after one or more spaces.
ScrapeRequest parseScrapeRequest(std::string_view head);

}  // namespace balloond
