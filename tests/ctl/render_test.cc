// SPDX-License-Identifier: Apache-2.0
#include "ctl/render.h"

#include <gtest/gtest.h>

#include <string>

namespace balloond::ctl {
namespace {

control::Response answer(nlohmann::json arguments) {
  return control::Response{
      .result = control::ResultCode::kOk, .text = "ok", .arguments = std::move(arguments)};
}

TEST(RenderTest, VmListIsATableWithOneRowPerVm) {
  control::VmInfo vm;
  vm.name = "web1";
  vm.max_kib = vm.ceiling_kib = 2048 * 1024;
  vm.actual_kib = vm.target_kib = 1536 * 1024;
  vm.floor_kib = 512 * 1024;
  vm.available_kib = 700 * 1024;
  vm.state = "settled";
  vm.reason = "available-above-margin";
  const std::string text = vmListText(answer({{"vms", {control::toJson(vm)}}}));
  EXPECT_EQ(text.substr(0, text.find('\n')),
            "VM                 MAX  TARGET  ACTUAL   AVAIL   FLOOR    CEIL  STATE         REASON");
  EXPECT_NE(text.find("web1              2048    1536    1536     700     512    2048  settled"),
            std::string::npos)
      << text;
}

TEST(RenderTest, ABadlyShapedVmSaysSoInsteadOfARow) {
  const std::string text = vmListText(answer({{"vms", {{{"name", 7}}}}}));
  EXPECT_EQ(text.find("? "), text.find('\n') + 1) << text;
}

TEST(RenderTest, CommandsOnePerLineWithTheirKind) {
  control::CommandInfo c{.name = "vm-set", .mutating = true, .help = "runtime overrides"};
  EXPECT_EQ(commandsText(answer({{"commands", {control::toJson(c)}}})),
            "vm-set           mutating  runtime overrides\n");
}

TEST(RenderTest, TextAndJsonAnswers) {
  EXPECT_EQ(textOf(answer(nullptr)), "ok\n");
  EXPECT_EQ(prettyJson(answer({{"a", 1}})), "{\n  \"a\": 1\n}\n");
  EXPECT_EQ(mib(1536 * 1024), "1536");
}

TEST(RenderTest, AReclaimAnswerThatIsNoReclaimPrintsItsText) {
  control::Response r = answer("not a reclaim");
  r.text = "no reclaim has been requested";
  EXPECT_EQ(reclaimText(r), "no reclaim has been requested\n");
}

}  // namespace
}  // namespace balloond::ctl
