// SPDX-License-Identifier: Apache-2.0
#include "config/yaml_reader.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
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

// A FIFO would block the daemon's event loop until a writer came; /dev/zero never ends. Only a
// regular file of bounded size is read, and what it is comes from the open descriptor.
TEST(YamlReaderTest, ReadFileTakesOnlyABoundedRegularFile) {
  const std::string fifo = ::testing::TempDir() + "/balloond-fifo-" + std::to_string(getpid());
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  const auto t0 = std::chrono::steady_clock::now();
  auto r = readFile(fifo);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, fifo + ": cannot read: not a regular file");
  unlink(fifo.c_str());

  auto zero = readFile("/dev/zero");
  ASSERT_FALSE(zero.ok());
  EXPECT_EQ(zero.error().message, "/dev/zero: cannot read: not a regular file");

  const std::string big = ::testing::TempDir() + "/balloond-big-" + std::to_string(getpid());
  std::ofstream(big) << std::string(kMaxFileBytes, '#');
  EXPECT_TRUE(readFile(big).ok());
  std::ofstream(big, std::ios::app) << "#";
  auto over = readFile(big);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().message, big + ": cannot read: larger than 1 MiB");
  unlink(big.c_str());
}

}  // namespace
}  // namespace balloond::config
