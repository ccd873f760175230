// SPDX-License-Identifier: Apache-2.0
#include "daemon/procfs/procfs.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace balloond::procfs {
namespace {

TEST(QmpProcfsTest, ReadsMeminfo) {
  auto h = parseMeminfo(
      "MemTotal:       24000000 kB\nMemFree:         1000 kB\nMemAvailable:   20000000 kB\n"
      "Buffers:          200 kB\nCached:          3000 kB\n");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->total_kib, 24000000);
  EXPECT_EQ(h->available_kib, 20000000);
  EXPECT_EQ(h->free_kib, 4200);
  EXPECT_FALSE(parseMeminfo("MemTotal: 5 kB\n"));
  EXPECT_FALSE(parseMeminfo("MemTotalX: 5 kB\nMemAvailable: 1 kB\n"));
  EXPECT_EQ(parseMeminfo("MemTotal: 5 kB\nMemAvailable: 9 kB\n")->available_kib, 5);
}

TEST(QmpProcfsTest, ReadsPressureAndRss) {
  EXPECT_DOUBLE_EQ(
      *parsePressureSomeAvg10("some avg10=1.25 avg60=0.00 avg300=0.00 total=10\nfull avg10=0.00\n"),
      1.25);
  EXPECT_FALSE(parsePressureSomeAvg10("full avg10=1.00"));
  EXPECT_FALSE(parsePressureSomeAvg10("some avg10=x"));
  EXPECT_EQ(parseStatusRssKib("Name:\tqemu\nVmRSS:\t  204800 kB\n"), 204800);
  EXPECT_FALSE(parseStatusRssKib("Name:\tkthread\n"));
}

TEST(QmpProcfsTest, ReadsTheRealProcAndAFakeOne) {
  auto real = readHostMemory();
  ASSERT_TRUE(real) << real.error().message;
  EXPECT_GT(real->total_kib, 0);
  EXPECT_GT(processRssKib(getpid()).value_or(0), 0);

  const auto root = std::filesystem::path(::testing::TempDir()) / "qmp-proc";
  std::filesystem::create_directories(root / "42");
  std::ofstream(root / "meminfo") << "MemTotal: 1000 kB\nMemAvailable: 600 kB\n";
  std::ofstream(root / "42" / "status") << "VmRSS: 300 kB\n";
  auto fake = readHostMemory(root.string());
  ASSERT_TRUE(fake);
  EXPECT_EQ(fake->available_kib, 600);
  EXPECT_FALSE(fake->psi_some_avg10);
  EXPECT_EQ(processRssKib(42, root.string()), 300);
  EXPECT_FALSE(processRssKib(43, root.string()));
  EXPECT_FALSE(readHostMemory((root / "none").string()));
}

}  // namespace
}  // namespace balloond::procfs
