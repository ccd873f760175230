// SPDX-License-Identifier: Apache-2.0
// The metrics port's request reader: any head is a scrape, a 404 or a 405, never a crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "daemon/admin/scrape_request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)balloond::parseScrapeRequest(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
