// SPDX-License-Identifier: Apache-2.0
#include "daemon/admin/scrape_request.h"

#include <gtest/gtest.h>

namespace balloond {
namespace {

TEST(ScrapeRequestTest, OnlyGetMetricsIsAScrape) {
  EXPECT_EQ(parseScrapeRequest("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"),
            ScrapeRequest::kMetrics);
  EXPECT_EQ(parseScrapeRequest("GET /metrics?name[]=x HTTP/1.0\r\n\r\n"), ScrapeRequest::kMetrics);
  EXPECT_EQ(parseScrapeRequest("GET  /metrics\r\n\r\n"), ScrapeRequest::kMetrics);
  EXPECT_EQ(parseScrapeRequest("GET / HTTP/1.1\r\n\r\n"), ScrapeRequest::kNotFound);
  EXPECT_EQ(parseScrapeRequest("GET /metricsx HTTP/1.1\r\n\r\n"), ScrapeRequest::kNotFound);
  EXPECT_EQ(parseScrapeRequest("POST /metrics HTTP/1.1\r\n\r\n"), ScrapeRequest::kMethodNotAllowed);
  EXPECT_EQ(parseScrapeRequest("get /metrics HTTP/1.1\r\n\r\n"), ScrapeRequest::kMethodNotAllowed);
}

TEST(ScrapeRequestTest, OnlyTheRequestLineCounts) {
  // A target on a later line, or past a NUL, is not this request's target.
  EXPECT_EQ(parseScrapeRequest("GET\r\n/metrics\r\n\r\n"), ScrapeRequest::kNotFound);
  EXPECT_EQ(parseScrapeRequest(std::string_view("GET /metrics\0x", 14)), ScrapeRequest::kNotFound);
  EXPECT_EQ(parseScrapeRequest(""), ScrapeRequest::kMethodNotAllowed);
  EXPECT_EQ(parseScrapeRequest("\r\n\r\n"), ScrapeRequest::kMethodNotAllowed);
}

}  // namespace
}  // namespace balloond
