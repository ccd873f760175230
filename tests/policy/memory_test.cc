// SPDX-License-Identifier: Apache-2.0
#include "policy/memory.h"

#include <gtest/gtest.h>

#include "policy/per_vm_memory.h"
#include "tests/policy/test_views.h"

namespace balloond::policy {
namespace {

using nlohmann::json;

TEST(MemoryReaderTest, ReadsWhatIsThereAndLeavesTheRest) {
  const json j = {{"rate", 2.5},
                  {"window", {1, 2, 3}},
                  {"free", {0.1, 0.2}},
                  {"vms", {{"a", {{"rate", 1}}}, {"b", json::object()}}}};
  MemoryReader r(j, "memory");
  double rate = 0;
  double absent = 7;
  std::vector<int64_t> window;
  std::deque<double> free;
  std::map<std::string, double> vms;
  r.number("rate", rate, 0, 10);
  r.number("absent", absent, 0, 10);
  r.kibs("window", window, 2);
  r.fractions("free", free, 5);
  r.each("vms",
         [&](const std::string& name, MemoryReader& vm) { vm.number("rate", vms[name], 0, 1); });
  ASSERT_TRUE(r.status().ok()) << r.status().error().message;
  EXPECT_EQ(rate, 2.5);
  EXPECT_EQ(absent, 7);
  EXPECT_EQ(window, (std::vector<int64_t>{2, 3}));  // the newest two
  EXPECT_EQ(free, (std::deque<double>{0.1, 0.2}));
  EXPECT_EQ(vms, (std::map<std::string, double>{{"a", 1}, {"b", 0}}));
}

TEST(MemoryReaderTest, KeepsTheFirstProblemWithItsPath) {
  struct Case {
    const char* what;
    json j;
    const char* error;
  };
  const Case cases[] = {
      {"not an object", json::array(), "memory: expected an object"},
      {"number out of range", {{"rate", 11}}, "memory.rate: expected a number from 0 to 10"},
      {"number a string", {{"rate", "1"}}, "memory.rate: expected a number from 0 to 10"},
      {"size too large",
       {{"window", {kMaxMemoryKib + 1}}},
       "memory.window: expected an array of sizes in KiB"},
      {"size not an integer",
       {{"window", {1.5}}},
       "memory.window: expected an array of sizes in KiB"},
      {"fraction above 1", {{"free", {0.5, 1.5}}}, "memory.free: expected an array of fractions"},
      {"vms an array", {{"vms", {1}}}, "memory.vms: expected an object"},
      {"a vm's field",
       {{"vms", {{"a", {{"rate", 20}}}}}},
       "memory.vms.a.rate: expected a number from 0 to 10"},
      {"two problems",
       {{"rate", -1}, {"free", {2}}},
       "memory.rate: expected a number from 0 to 10"},
  };
  for (const auto& c : cases) {
    MemoryReader r(c.j, "memory");
    double rate = 0;
    std::vector<int64_t> window;
    std::deque<double> free;
    r.number("rate", rate, 0, 10);
    r.kibs("window", window, 10);
    r.fractions("free", free, 10);
    r.each("vms", [](const std::string& /*name*/, MemoryReader& vm) {
      double x = 0;
      vm.number("rate", x, 0, 10);
    });
    ASSERT_FALSE(r.status().ok()) << c.what;
    EXPECT_EQ(r.status().error().message, c.error) << c.what;
  }
}

TEST(ForgetGoneVmsTest, KeepsOnlyTheVmsOfThisInput) {
  testing::InputBuilder b;
  b.vm("a", 1000, 1000, 500).vm("c", 1000, 1000, 500);
  std::unordered_map<std::string, int> memory = {{"a", 1}, {"b", 2}, {"c", 3}};
  forgetGoneVms(memory, b.build());
  EXPECT_EQ(memory, (std::unordered_map<std::string, int>{{"a", 1}, {"c", 3}}));
}

TEST(ForgetGoneVmsTest, ScansOnlyWhenTheMapHoldsMoreThanTheTickKept) {
  testing::InputBuilder b;
  b.vm("a", 1000, 1000, 500).vm("c", 1000, 1000, 500);
  const auto input = b.build();
  std::unordered_map<std::string, int> memory = {{"a", 1}, {"b", 2}, {"c", 3}};
  forgetGoneVms(memory, input, 3);  // as many as kept: nothing can be gone, no scan
  EXPECT_EQ(memory.size(), 3U);
  forgetGoneVms(memory, input, 2);  // one more than kept: "b" is gone
  EXPECT_EQ(memory, (std::unordered_map<std::string, int>{{"a", 1}, {"c", 3}}));
}

// Entries are found by position while the order holds, by name when it changes; VMs that
// left are dropped and a VM that comes back starts fresh; a loaded memory replaces it all.
TEST(PerVmMemoryTest, FindsEachVmsEntryWhateverTheOrder) {
  PerVmMemory<int> memory;
  memory.of(0, "a") = 1;
  memory.of(1, "b") = 2;
  EXPECT_EQ(memory.of(0, "a"), 1);  // the same order: by position
  EXPECT_EQ(memory.of(1, "b"), 2);
  EXPECT_EQ(memory.of(0, "b"), 2);  // swapped: by name
  EXPECT_EQ(memory.of(1, "a"), 1);
  EXPECT_EQ(memory.of(2, "c"), 0);           // new
  for (int grow = 0; grow < 1000; ++grow) {  // rehashes: the remembered entries stay valid
    memory.of(3, "vm" + std::to_string(grow));
  }
  EXPECT_EQ(memory.of(0, "b"), 2);
  EXPECT_EQ(memory.of(1, "a"), 1);

  testing::InputBuilder b;
  b.vm("a", 1000, 1000, 500);
  const auto input = b.build();
  EXPECT_EQ(memory.of(0, "a"), 1);
  memory.forgetGone(input, 1);
  EXPECT_EQ(memory.all().size(), 1U);
  EXPECT_EQ(memory.of(1, "b"), 0);  // came back: fresh
  memory.replace({{"a", 7}});
  EXPECT_EQ(memory.of(0, "a"), 7);
  EXPECT_EQ(memory.all().size(), 1U);
}

}  // namespace
}  // namespace balloond::policy
