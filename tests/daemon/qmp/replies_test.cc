// SPDX-License-Identifier: Apache-2.0
#include "daemon/qmp/replies.h"

#include <gtest/gtest.h>

namespace balloond::qmp {
namespace {

using json = nlohmann::json;
constexpr uint64_t kMiB = 1024 * 1024;

TEST(QmpRepliesTest, SizesArriveInBytesAndLeaveInKib) {
  EXPECT_EQ(*actualFromQueryBalloon(json{{"actual", 512 * kMiB}}), 512 * 1024);
  EXPECT_FALSE(actualFromQueryBalloon(json{{"actual", -1}}));
  EXPECT_FALSE(actualFromQueryBalloon(json{{"actual", kStatAbsent}}));
  EXPECT_FALSE(actualFromQueryBalloon(json::array()));
  EXPECT_EQ(
      *maxFromMemorySummary(json{{"base-memory", 1024 * kMiB}, {"plugged-memory", 512 * kMiB}}),
      1536 * 1024);
  EXPECT_EQ(*maxFromMemorySummary(json{{"base-memory", 1024 * kMiB}}), 1024 * 1024);
  EXPECT_FALSE(maxFromMemorySummary(json{{"base-memory", 0}}));
  EXPECT_FALSE(maxFromMemorySummary(json{{"plugged-memory", 5}}));
}

TEST(QmpRepliesTest, GuestStatsTreatTheAllOnesValueAsAbsent) {
  json ret = {{"stats",
               {{"stat-available-memory", 600 * kMiB},
                {"stat-total-memory", 960 * kMiB},
                {"stat-free-memory", kStatAbsent},
                {"stat-disk-caches", "many"},
                {"stat-major-faults", 12},
                {"stat-minor-faults", kStatAbsent - 1},
                {"stat-swap-in", 4096}}},
              {"last-update", 1700000000}};
  auto g = guestStatsFromQom(ret);
  ASSERT_TRUE(g);
  EXPECT_EQ(g->available_kib, 600 * 1024);
  EXPECT_EQ(g->usable_kib, 600 * 1024);
  EXPECT_EQ(g->total_kib, 960 * 1024);
  EXPECT_FALSE(g->unused_kib);
  EXPECT_FALSE(g->disk_caches_kib);
  EXPECT_EQ(g->major_faults, 12);
  EXPECT_FALSE(g->minor_faults);  // above INT64_MAX: no real count
  EXPECT_EQ(g->swap_in_kib, 4);
  EXPECT_FALSE(g->swap_out_kib);
  EXPECT_DOUBLE_EQ(g->last_update_s, 1700000000);

  ret["last-update"] = 0;
  EXPECT_DOUBLE_EQ(guestStatsFromQom(ret)->last_update_s, 0);
  ret["last-update"] = -5;
  EXPECT_DOUBLE_EQ(guestStatsFromQom(ret)->last_update_s, 0);
  ret["last-update"] = "soon";
  EXPECT_FALSE(guestStatsFromQom(ret));
  EXPECT_FALSE(guestStatsFromQom(json{{"stats", 5}, {"last-update", 1}}));
}

TEST(QmpRepliesTest, FindsTheBalloonByTypeNotByName) {
  json peripheral = json::array({{{"name", "type"}, {"type", "string"}},
                                 {{"name", "net0"}, {"type", "child<virtio-net-pci>"}},
                                 {{"name", "mb"}, {"type", "child<virtio-balloon-pci>"}}});
  EXPECT_EQ(balloonIn(peripheral, "/machine/peripheral"), "/machine/peripheral/mb");
  json anon = json::array({{{"name", "device[3]"}, {"type", "child<virtio-balloon-ccw>"}}});
  EXPECT_EQ(balloonIn(anon, "/machine/peripheral-anon"), "/machine/peripheral-anon/device[3]");
  EXPECT_FALSE(balloonIn(json::array({{{"name", "a/b"}, {"type", "child<virtio-balloon-pci>"}}}),
                         "/machine/peripheral"));
  EXPECT_FALSE(balloonIn(json::object(), "/machine/peripheral"));
  EXPECT_FALSE(balloonIn(json::array({5, "x"}), "/machine/peripheral"));
}

TEST(QmpRepliesTest, ANameMustBeUsableAsIs) {
  EXPECT_EQ(nameFromQueryName(json{{"name", "web-01"}}), "web-01");
  EXPECT_FALSE(nameFromQueryName(json::object()));
  EXPECT_FALSE(nameFromQueryName(json{{"name", ""}}));
  EXPECT_FALSE(nameFromQueryName(json{{"name", "two words"}}));
  EXPECT_FALSE(nameFromQueryName(json{{"name", "line\nbreak"}}));
  EXPECT_FALSE(nameFromQueryName(json{{"name", "../etc"}}));
  EXPECT_FALSE(nameFromQueryName(json{{"name", std::string(129, 'a')}}));
  EXPECT_FALSE(nameFromQueryName(json{{"name", 5}}));
}

TEST(QmpRepliesTest, SocketNamesLoseTheirFolderAndExtension) {
  EXPECT_EQ(nameFromSocketPath("/var/run/qemu-server/100.qmp"), "100");
  EXPECT_EQ(nameFromSocketPath("/run/vm/web.qmp.sock"), "web.qmp");
  EXPECT_EQ(nameFromSocketPath("/run/vm/plain"), "plain");
  EXPECT_EQ(nameFromSocketPath("/run/vm/.hidden"), ".hidden");
}

TEST(QmpRepliesTest, PollingIntervalIsWholeSeconds) {
  EXPECT_EQ(*pollingIntervalFromQom(json(2)), 2);
  EXPECT_FALSE(pollingIntervalFromQom(json(-1)));
  EXPECT_FALSE(pollingIntervalFromQom(json("2")));
}

}  // namespace
}  // namespace balloond::qmp
