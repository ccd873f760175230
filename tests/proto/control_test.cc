// SPDX-License-Identifier: Apache-2.0
#include "proto/control.h"

#include <gtest/gtest.h>

namespace balloond::control {
namespace {

using nlohmann::json;

TEST(ControlTest, RequestRoundTripsOnOneLine) {
  const Request in{.command = "vm-get", .arguments = {{"name", "web1"}}};
  const std::string line = encode(in);
  EXPECT_EQ(line, "{\"arguments\":{\"name\":\"web1\"},\"command\":\"vm-get\"}\n");
  auto out = parseRequest(line);
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(out->command, "vm-get");
  EXPECT_EQ(out->arguments, in.arguments);
}

TEST(ControlTest, ArgumentsAreOptionalAndDefaultToAnEmptyObject) {
  auto r = parseRequest(R"({"command": "status-get"})");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->arguments.is_object());
  EXPECT_TRUE(r->arguments.empty());
}

TEST(ControlTest, BadEnvelopesAreNamedExactly) {
  auto message = [](std::string_view line) {
    auto r = parseRequest(line);
    return r.ok() ? std::string("ok") : r.error().message;
  };
  EXPECT_EQ(message("{not json"), "malformed JSON: expected one JSON object per line");
  EXPECT_EQ(message(""), "malformed JSON: expected one JSON object per line");
  EXPECT_EQ(message("[1,2]"), "request: expected an object, got array");
  EXPECT_EQ(message(R"({"arguments": {}})"), "request.command: expected a non-empty string");
  EXPECT_EQ(message(R"({"command": 7})"), "request.command: expected a non-empty string");
  EXPECT_EQ(message(R"({"command": "x", "arguments": [1]})"),
            "request.arguments: expected an object, got array");
  EXPECT_EQ(message(R"({"command": "x", "args": {}})"),
            "request: unknown key 'args' (known: command, arguments)");
}

// A line must be exactly one document: a NUL byte ends nothing early, and trailing bytes after
// the document are an error, not ignored.
TEST(ControlTest, ALineIsExactlyOneDocument) {
  using namespace std::string_literals;
  for (const std::string& line :
       {R"({"command":"status-get"})"s + '\0' + R"({"command":"daemon-pause"})",
        R"({"command":"status-get"})"s + '\0', R"({"command":"status-get"} x)"s,
        R"({"command":"status-get"}{"command":"daemon-pause"})"s}) {
    auto r = parseRequest(line);
    ASSERT_FALSE(r.ok()) << line;
    EXPECT_EQ(r.error().message, "malformed JSON: expected one JSON object per line");
    EXPECT_FALSE(parseResponse(R"({"result":0,"text":""})"s + '\0' + "x").ok());
  }
  EXPECT_TRUE(parseRequest("{\"command\":\"status-get\"} \r").ok());
}

// Nesting is bounded before the document is built (a deep one overflowed the stack when the
// arguments were copied); brackets inside strings do not count.
TEST(ControlTest, DeepNestingIsRefusedBeforeItIsBuilt) {
  auto nested = [](int depth) {
    return R"({"command":"x","arguments":{"a":)" + std::string(depth, '[') +
           std::string(depth, ']') + "}}";
  };
  ASSERT_LT(nested(30000).size(), kMaxRequestBytes);
  for (const int depth : {kMaxDepth - 1, kMaxDepth}) {
    EXPECT_FALSE(parseRequest(nested(depth)).ok()) << depth;  // 2 levels of envelope on top
  }
  EXPECT_TRUE(parseRequest(nested(kMaxDepth - 2)).ok());
  for (const int depth : {100, 10000, 30000}) {
    auto r = parseRequest(nested(depth));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().message, "request nested too deeply: at most 32 levels of [ and {");
    EXPECT_FALSE(parseResponse(R"({"result":0,"arguments":)" + std::string(depth, '[') +
                               std::string(depth, ']') + "}")
                     .ok());
  }
  const std::string in_string =
      R"({"command":"x","arguments":{"a":")" + std::string(1000, '[') + R"(\"{{"}})";
  auto r = parseRequest(in_string);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->arguments.at("a").get<std::string>(), std::string(1000, '[') + "\"{{");
}

// A number past int64 is reported as given, not wrapped (2^64-1 read as -1).
TEST(ControlTest, AnOutOfRangeIntegerIsReportedAsGiven) {
  auto j = json::parse(R"({"mib": 18446744073709551615, "n": 9223372036854775808, "k": -5})");
  const Arguments args(j, {"mib", "n", "k"});
  auto mib = args.integer("mib", 1, 1000);
  ASSERT_FALSE(mib.ok());
  EXPECT_EQ(mib.error().message,
            "argument 'mib': must be between 1 and 1000, got 18446744073709551615");
  auto n = args.integer("n", 0, INT64_MAX);
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.error().message,
            "argument 'n': must be between 0 and 9223372036854775807, got "
            "9223372036854775808");
  EXPECT_EQ(args.integer("k", 0, 10).error().message,
            "argument 'k': must be between 0 and 10, got -5");
}

// An answer's text is one line of printable text: a newline or an escape sequence echoed from a
// name cannot forge a line or drive the terminal of whoever reads it.
TEST(ControlTest, ControlCharactersInTextAreEscaped) {
  const std::string line = encode(error("unknown command 'a\nresult 0: ok\r\t\x1b[2J\x7f'"));
  auto r = parseResponse(line);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->text, R"(unknown command 'a\nresult 0: ok\r\t\x1b[2J\x7f')");
  EXPECT_EQ(parseResponse(encode(ok("caf\xc3\xa9 \\ fine")))->text, "caf\xc3\xa9 \\ fine");
}

TEST(ControlTest, ResponsesCarryTheirCodeAndOmitNullArguments) {
  EXPECT_EQ(encode(answer(ResultCode::kUnknownCommand, "no")), "{\"result\":2,\"text\":\"no\"}\n");
  const std::string line = encode(ok("fine", {{"paused", true}}));
  EXPECT_EQ(line, "{\"arguments\":{\"paused\":true},\"result\":0,\"text\":\"fine\"}\n");
  auto r = parseResponse(line);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->result, ResultCode::kOk);
  EXPECT_EQ(r->text, "fine");
  EXPECT_EQ(r->arguments["paused"], true);
  EXPECT_FALSE(parseResponse(R"({"result": 9, "text": ""})").ok());
  EXPECT_FALSE(parseResponse("garbage").ok());
}

TEST(ControlTest, InvalidUtf8IsReplacedNotThrown) {
  const std::string line = encode(error(std::string("bad \xff byte")));
  EXPECT_TRUE(parseResponse(line).ok());
}

TEST(ControlTest, ArgumentsCheckTypesRangesAndUnknownNames) {
  const json j = {{"name", "web1"}, {"n", 5}, {"flag", true}, {"bad", "x"}};
  Arguments args(j, {"name", "n", "flag"});
  ASSERT_FALSE(args.check().ok());
  EXPECT_EQ(args.check().error().message, "unknown argument 'bad' (known: name, n, flag)");
  EXPECT_EQ(Arguments(json{{"x", 1}}, {}).check().error().message,
            "unknown argument 'x' (this command takes none)");

  EXPECT_EQ(*args.text("name"), "web1");
  EXPECT_EQ(*args.integer("n", 0, 10), 5);
  EXPECT_EQ(args.integer("n", 0, 4).error().message,
            "argument 'n': must be between 0 and 4, got 5");
  EXPECT_EQ(args.integer("name", 0, 4).error().message,
            "argument 'name': expected an integer, got string");
  EXPECT_EQ(args.flag("n").error().message, "argument 'n': expected true or false, got number");
  EXPECT_EQ(args.text("missing").error().message, "argument 'missing': missing");
  EXPECT_TRUE(*args.flag("flag"));
}

VmInfo sampleVm() {
  VmInfo vm;
  vm.name = "db1";
  vm.max_kib = 4 << 20;
  vm.actual_kib = 3 << 20;
  vm.target_kib = 3 << 20;
  vm.floor_kib = 1 << 20;
  vm.ceiling_kib = 4 << 20;
  vm.available_kib = 500000;
  vm.state = "stuck";
  vm.state_reason = "no progress for 10 s";
  vm.reason = "available-above-margin";
  vm.last_change_s = 12.5;
  vm.runtime_override = {.pin_kib = 3 << 20, .floor_kib = {}, .ceiling_kib = {}, .excluded = false};
  GuestStats stats;
  stats.available_kib = 500000;
  stats.last_update_s = 12;
  vm.stats = stats;
  vm.decisions = {{.time_s = 10, .from_kib = 4 << 20, .to_kib = 3 << 20, .reason = "r1"}};
  return vm;
}

TEST(ControlTest, VmInfoRoundTrips) {
  const VmInfo in = sampleVm();
  auto out = vmInfoFromJson(toJson(in));
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(toJson(*out), toJson(in));
  EXPECT_EQ(out->runtime_override, in.runtime_override);
  EXPECT_EQ(out->decisions, in.decisions);
  EXPECT_EQ(out->stats->available_kib, 500000);
}

TEST(ControlTest, VmListEntriesHaveNoStatsOrDecisions) {
  VmInfo vm = sampleVm();
  vm.stats.reset();
  const json j = toJson(vm);
  EXPECT_FALSE(j.contains("stats"));
  EXPECT_FALSE(j.contains("decisions"));
  EXPECT_EQ(j.at("runtime_override"), (json{{"pin_kib", 3 << 20}, {"excluded", false}}));
}

TEST(ControlTest, DaemonInfoRoundTrips) {
  DaemonInfo in;
  in.version = "0.1.0";
  in.uptime_s = 3;
  in.channel = "sim";
  in.channel_connected = false;
  in.channel_error = "sim: gone";
  in.paused = true;
  in.tick_s = 1;
  in.ticks = 7;
  in.last_tick_duration_s = 0.001;
  in.host = {
      .total_kib = 1 << 24, .available_kib = 1 << 22, .free_kib = 1 << 22, .psi_some_avg10 = 0.5};
  in.reclaimed_kib = 1024;
  in.vms_by_state = {{"settled", 2}, {"stale", 1}};
  auto out = daemonInfoFromJson(toJson(in));
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(toJson(*out), toJson(in));
}

TEST(ControlTest, ReclaimInfoRoundTrips) {
  ReclaimInfo in{.id = 3,
                 .outcome = "refused",
                 .requested_kib = 1 << 20,
                 .freed_kib = 1 << 19,
                 .started_s = 5,
                 .finished_s = 65,
                 .plan_kib = {{"a", 1 << 19}, {"b", 1 << 19}},
                 .refused_by = {"b"},
                 .text = "b did not give"};
  auto out = reclaimInfoFromJson(toJson(in));
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(toJson(*out), toJson(in));
  in.finished_s.reset();
  EXPECT_FALSE(toJson(in).contains("finished_s"));
}

TEST(ControlTest, DecodingErrorsNameTheMessage) {
  auto r = vmInfoFromJson(json{{"name", "x"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message.rfind("vm: ", 0), 0U) << r.error().message;
  auto c = commandInfoFromJson(json{{"name", "x"}, {"mutating", "yes"}, {"help", ""}});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().message.rfind("command: ", 0), 0U) << c.error().message;
}

}  // namespace
}  // namespace balloond::control
