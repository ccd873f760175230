// SPDX-License-Identifier: Apache-2.0
#include "daemon/state/codec.h"

#include <gtest/gtest.h>

#include <string>

namespace balloond {
namespace {

using nlohmann::json;

// A valid version 2 file with one VM the controller knew and one with only an override.
json validState() {
  return json::parse(R"({
  "version": 2, "clock_s": 50.0, "paused": false,
  "vms": {
    "web": {
      "target_kib": 1048576, "reason": "available-above-margin", "last_change_s": 40.0,
      "state": "settled", "state_reason": "",
      "decisions": [{"time_s": 40.0, "from_kib": 2097152, "to_kib": 1048576,
                     "reason": "available-above-margin"}],
      "ack": {"target_kib": 1048576, "ever_moved": true, "hold_until_s": -1,
              "stuck_direction": 0, "stuck_reason": "", "stalled": [[30.0, 1.0]]},
      "last_grow_s": -1000000000.0, "last_shrink_s": 40.0
    },
    "db": {"runtime_override": {"pin_kib": 4194304}}
  }
})");
}

// The error for `j`, or "" when it reads.
std::string errorOf(const json& j) {
  auto s = persistedStateFromJson(j);
  return s ? "" : s.error().message;
}

TEST(StateCodecValuesTest, AValidFileReads) {
  auto s = persistedStateFromJson(validState());
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->vms.at("web").target_kib, 1048576);
  EXPECT_EQ(s->vms.at("db").runtime_override->pin_kib, 4194304);
  EXPECT_EQ(s->vms.at("web").ack.stalled.size(), 1U);
}

// Numbers that do not fit their field, fractions where an integer belongs, and sizes beyond
// the config's 16 TiB make the file corrupt (UBSan saw float-cast overflows here before).
TEST(StateCodecValuesTest, OutOfRangeNumbersAreRefusedNamingTheField) {
  json j = validState();
  j["version"] = 1.5;
  EXPECT_EQ(errorOf(j), "state.version: expected an integer from 1 to 2, got 1.5");
  j["version"] = 1e20;
  EXPECT_EQ(errorOf(j), "state.version: expected an integer from 1 to 2, got 1e+20");

  j = validState();
  j["vms"]["web"]["target_kib"] = 1e300;
  EXPECT_EQ(errorOf(j),
            "state.vms.web.target_kib: expected an integer from 0 to 17179869184, got 1e+300");
  j["vms"]["web"]["target_kib"] = json::parse("9223372036854775808");  // 2^63
  EXPECT_EQ(errorOf(j),
            "state.vms.web.target_kib: expected an integer from 0 to 17179869184, "
            "got 9223372036854775808");
  j["vms"]["web"]["target_kib"] = -1;
  EXPECT_NE(errorOf(j), "");

  j = validState();
  j["vms"]["web"]["ack"]["target_kib"] = 1e19;
  EXPECT_EQ(errorOf(j).rfind("state.vms.web.ack.target_kib: ", 0), 0U) << errorOf(j);
  j = validState();
  j["clock_s"] = 1e300;
  EXPECT_EQ(errorOf(j).rfind("state.clock_s: expected a number", 0), 0U) << errorOf(j);
  j = validState();
  j["vms"]["web"]["decisions"][0]["to_kib"] = 2.5;
  EXPECT_EQ(errorOf(j).rfind("state.vms.web.decisions[0].to_kib: ", 0), 0U) << errorOf(j);
  j = validState();
  j["vms"]["db"]["runtime_override"]["pin_kib"] = 1e300;
  EXPECT_EQ(errorOf(j).rfind("state.vms.db.runtime_override.pin_kib: ", 0), 0U) << errorOf(j);
  j = validState();
  j["vms"]["web"]["ack"]["stalled"] = {{30.0, -1.0}};
  EXPECT_EQ(errorOf(j).rfind("state.vms.web.ack.stalled[0]: ", 0), 0U) << errorOf(j);
  j = validState();
  j["vms"]["web"]["ack"]["stuck_direction"] = 7;
  EXPECT_NE(errorOf(j), "");
}

// Wrong-typed parts were read as empty before: now the file is corrupt and set aside.
TEST(StateCodecValuesTest, WrongTypesAreRefusedNotReadAsEmpty) {
  for (const json& vms : {json::array(), json("x"), json{{"vm", nullptr}}, json{{"vm", 3}}}) {
    json j = validState();
    j["vms"] = vms;
    EXPECT_NE(errorOf(j), "") << vms.dump();
  }
  json j = validState();
  j["paused"] = "no";
  EXPECT_EQ(errorOf(j), "state.paused: expected true or false, got \"no\"");
  j = validState();
  j["vms"]["web"]["decisions"] = json::object();
  EXPECT_EQ(errorOf(j).rfind("state.vms.web.decisions: expected a list", 0), 0U) << errorOf(j);
  j = validState();
  j["vms"]["web"]["reason"] = std::string(5000, 'x');
  EXPECT_EQ(errorOf(j).rfind("state.vms.web.reason: expected a string of at most", 0), 0U);
  j = validState();
  j["vms"]["web"].erase("ack");
  EXPECT_EQ(errorOf(j), "state.vms.web.ack: missing");
  EXPECT_EQ(errorOf(json::array()), "state: not a JSON object");
}

}  // namespace
}  // namespace balloond
