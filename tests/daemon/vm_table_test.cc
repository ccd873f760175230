// SPDX-License-Identifier: Apache-2.0
#include "daemon/vm_table.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace balloond {
namespace {

TEST(VmTableTest, HostLineThenOneRowPerVmWithStateReason) {
  Snapshot snap;
  snap.time_s = 12;
  snap.host.total_kib = 16384 * kKibPerMib;
  snap.host.available_kib = 2048 * kKibPerMib;
  VmStatus web;
  web.name = "web1";
  web.max_kib = 2048 * kKibPerMib;
  web.actual_kib = web.target_kib = 1536 * kKibPerMib;
  web.floor_kib = 512 * kKibPerMib;
  web.available_kib = 700 * kKibPerMib;
  web.reason = "available-above-margin";
  VmStatus db = web;
  db.name = "db";
  db.available_kib.reset();
  db.state = policy::AckState::kStuck;
  db.state_reason = "no progress";
  const std::string table = renderVmTable(snap, {web, db});
  const std::vector<std::string> want = {
      "t=12s  host: total 16384 MiB, available 2048 MiB  balloons hold 1024 MiB  VMs 2",
      "VM               MAX  TARGET  ACTUAL   AVAIL   FLOOR  STATE         REASON",
      "web1            2048    1536    1536     700     512  settled       available-above-margin",
      "db              2048    1536    1536       -     512  stuck         available-above-margin "
      "[no progress]"};
  std::string expected;
  for (const auto& line : want) {
    expected += line + "\n";
  }
  EXPECT_EQ(table, expected);
}

}  // namespace
}  // namespace balloond
