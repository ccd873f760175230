// SPDX-License-Identifier: Apache-2.0
#include "daemon/qmp/reader.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace balloond::qmp {
namespace {

using Kind = Message::Kind;

TEST(QmpReaderTest, ClassifiesTheFourShapes) {
  auto g = parseMessage(R"({"QMP": {"version": {}, "capabilities": []}})");
  ASSERT_TRUE(g);
  EXPECT_EQ(g->kind, Kind::kGreeting);

  auto r = parseMessage(R"({"return": {"actual": 1073741824}, "id": 7})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->kind, Kind::kReturn);
  EXPECT_EQ(r->id, 7U);
  EXPECT_EQ(r->value["actual"], 1073741824U);

  auto e = parseMessage(
      R"({"error": {"class": "DeviceNotActive", "desc": "No balloon device"}, "id": 3})");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind, Kind::kError);
  EXPECT_EQ(e->name, "DeviceNotActive");
  EXPECT_EQ(e->text, "No balloon device");

  auto ev = parseMessage(R"({"event": "BALLOON_CHANGE", "data": {"actual": 5}, "timestamp": {}})");
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->kind, Kind::kEvent);
  EXPECT_EQ(ev->name, "BALLOON_CHANGE");
  EXPECT_FALSE(ev->id);
}

TEST(QmpReaderTest, RefusesWhatIsNotQmpWithoutQuotingIt) {
  for (const char* bad :
       {"", "not json", "[1,2]", "42", R"({"return": 1, "id": "x"})", R"({"return": 1, "id": -1})",
        R"({"hello": 1})", R"({"error": 5})", R"({"event": 5})"}) {
    auto m = parseMessage(bad);
    ASSERT_FALSE(m) << bad;
    EXPECT_EQ(m.error().message.find("hello"), std::string::npos);
    EXPECT_EQ(m.error().message.rfind("qmp: ", 0), 0U) << m.error().message;
  }
  auto nul = parseMessage(std::string_view("{\"return\": {}}\0{}", 17));
  EXPECT_FALSE(nul);
}

TEST(QmpReaderTest, BoundsNestingBeforeParsing) {
  const std::string deep =
      "{\"return\": " + std::string(100000, '[') + std::string(100000, ']') + "}";
  auto m = parseMessage(deep);
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().message.find("nested deeper"), std::string::npos);
}

TEST(QmpReaderTest, SplitsLinesAcrossReadsAndDropsCarriageReturns) {
  LineReader reader;
  reader.append("{\"return\": {}, \"id\": 1}\r\n{\"ev");
  auto first = reader.next();
  ASSERT_TRUE(first && *first);
  EXPECT_EQ(**first, "{\"return\": {}, \"id\": 1}");
  auto none = reader.next();
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
  reader.append("ent\": \"X\"}\n");
  auto second = reader.next();
  ASSERT_TRUE(second && *second);
  EXPECT_EQ(**second, "{\"event\": \"X\"}");
}

TEST(QmpReaderTest, ALineTooLongFailsForGood) {
  LineReader reader;
  reader.append(std::string(kMaxLineBytes + 1, 'a'));
  auto line = reader.next();
  ASSERT_FALSE(line);
  EXPECT_NE(line.error().message.find("longer than"), std::string::npos);
  reader.append("{}\n");
  EXPECT_FALSE(reader.next());
  EXPECT_TRUE(reader.failed());

  LineReader terminated;
  terminated.append(std::string(kMaxLineBytes + 1, 'a') + "\n");
  EXPECT_FALSE(terminated.next());
}

TEST(QmpReaderTest, GarbageNeverCrashesAndNeverParsesAsAnAnswerWithoutAnId) {
  std::mt19937 rng(42);  // NOLINT(cert-msc32-c,cert-msc51-cpp): a fixed seed, on purpose
  std::uniform_int_distribution<int> byte(0, 255);
  LineReader reader;
  for (int i = 0; i < 2000; ++i) {
    std::string chunk(static_cast<std::size_t>(byte(rng) % 64), '\0');
    for (auto& c : chunk) {
      c = static_cast<char>(byte(rng));
    }
    reader.append(chunk);
    for (auto line = reader.next(); line && *line; line = reader.next()) {
      auto m = parseMessage(**line);
      if (m && (m->kind == Kind::kReturn || m->kind == Kind::kError)) {
        SUCCEED();
      }
    }
  }
}

TEST(QmpReaderTest, EncodesACommandWithItsIdAndLineEnd) {
  const std::string line = encodeCommand("balloon", {{"value", 536870912}}, 9);
  EXPECT_EQ(line, "{\"arguments\":{\"value\":536870912},\"execute\":\"balloon\",\"id\":9}\r\n");
  EXPECT_EQ(encodeCommand("query-balloon", nlohmann::json(), 1),
            "{\"execute\":\"query-balloon\",\"id\":1}\r\n");
}

}  // namespace
}  // namespace balloond::qmp
