// SPDX-License-Identifier: Apache-2.0
// The metrics port's request reader: any head is a scrape, a 404 or a 405, never a crash.
#include <cstddef>
#include <cstdint>
#include <string>

#include "daemon/admin/scrape_request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string head(data, data + size);
  (void)balloond::parseScrapeRequest(head);
  return 0;
}
