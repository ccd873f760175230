// SPDX-License-Identifier: Apache-2.0
#include "config/yaml_reader.h"

#include <gtest/gtest.h>

#include <optional>

namespace balloond::config {
namespace {

// A tiny grammar for the kit: {size: number 0..10, name: string (required), on: flag}.
struct Small {
  double size = 1;
  std::string name;
  std::optional<bool> on;
};

class SmallGrammar : public YamlReader {
 public:
  using YamlReader::YamlReader;
  bool small(const Val& v, Small& s) {
    return map(v, {num("size", s.size, Range{0, 10}),
                   {"name", [&](const Val& x) { return str(x, s.name); }, kRequired},
                   flag("on", s.on)});
  }
};

Result<Small> parseSmall(const std::string& text) {
  Small s;
  auto status = readDocument(text, "s.yaml", [&](const Val& root) -> Status {
    SmallGrammar g("s.yaml");
    if (!g.small(root, s)) return g.error();
    return Ok{};
  });
  if (!status) return status.error();
  return s;
}

std::string errorOf(const std::string& text) {
  auto r = parseSmall(text);
  return r ? "" : r.error().message;
}

TEST(YamlReaderTest, ReadsTypedFields) {
  auto s = parseSmall("name: a\nsize: 2.5\non: true\n");
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->name, "a");
  EXPECT_EQ(s->size, 2.5);
  EXPECT_EQ(s->on, true);
}

TEST(YamlReaderTest, ReportsTheFirstProblemWithItsPosition) {
  EXPECT_EQ(errorOf("name: a\nsize: 11\n"), "s.yaml:2:7: size: must be between 0 and 10, got 11");
  EXPECT_EQ(errorOf("name: a\nsize: big\n"), "s.yaml:2:7: size: expected a number, got 'big'");
  EXPECT_EQ(errorOf("size: 1\n"), "s.yaml:1:1: missing required key 'name'");
  EXPECT_EQ(errorOf("name: a\nnope: 1\n"), "s.yaml:2:1: nope: unknown key (known: size, name, on)");
  EXPECT_EQ(errorOf("name: a\non: yes\n"), "s.yaml:2:5: on: expected true or false, got 'yes'");
  EXPECT_EQ(errorOf("name: a\nname: b\n"), "s.yaml:2:1: name: duplicate key");
  EXPECT_EQ(errorOf("[1, 2"), "s.yaml:1:1: syntax error: end of sequence flow not found");
}

TEST(YamlReaderTest, ReadFileNamesTheFileAndTheReason) {
  auto r = readFile("/no/such/file.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "/no/such/file.yaml: cannot read: No such file or directory");
}

}  // namespace
}  // namespace balloond::config
