// SPDX-License-Identifier: Apache-2.0
#include "daemon/reclaim.h"

#include <gtest/gtest.h>

#include "tests/policy/test_views.h"

namespace balloond {
namespace {

using policy::AckState;
using policy::testing::InputBuilder;
using Outcome = ReclaimStatus::Outcome;

policy::Guards guards() {
  policy::Guards g;
  g.need_margin_kib = mibToKib(64);
  return g;
}

// Two idle 2048 MiB donors; tests move them by editing the input between updates.
struct TwoDonors {
  TwoDonors() { b.vm("a", 2048, 2048, 1900).vm("b", 2048, 2048, 1900); }
  std::vector<policy::VmView> views() {
    auto vms = b.build().vms;
    for (size_t i = 0; i < vms.size(); ++i) {
      auto* s = const_cast<VmSample*>(vms[i].sample);
      s->actual_kib = mibToKib(actual[i]);
      vms[i].ack = ack[i];
    }
    return vms;
  }
  InputBuilder b;
  double actual[2] = {2048, 2048};
  AckState ack[2] = {AckState::kSettled, AckState::kSettled};
};

TEST(ReclaimRunTest, CannotFreeIsSaidAtOnce) {
  TwoDonors d;
  ReclaimRun run(1, mibToKib(8000), d.views(), guards(), 10);
  EXPECT_FALSE(run.active());
  EXPECT_EQ(run.status().outcome, Outcome::kCannotFree);
  EXPECT_EQ(run.status().finished_s, 10);
  EXPECT_EQ(run.status().text, "floors leave only 3672 MiB to give of the 8000 MiB asked");
}

TEST(ReclaimRunTest, DonorsGetUrgentTargetsUntilTheMemoryIsFreed) {
  TwoDonors d;
  ReclaimRun run(1, mibToKib(1024), d.views(), guards(), 0);
  ASSERT_TRUE(run.active());
  auto targets = run.update(d.views(), guards(), 1);
  ASSERT_EQ(targets.size(), 2U);
  EXPECT_EQ(targets[0].target_kib, mibToKib(1536));
  EXPECT_TRUE(targets[0].urgent);
  EXPECT_EQ(targets[0].reason, "reclaim");
  d.actual[0] = 1536;
  d.actual[1] = 1536;
  EXPECT_TRUE(run.update(d.views(), guards(), 2).empty());
  EXPECT_EQ(run.status().outcome, Outcome::kSuccess);
  EXPECT_EQ(run.status().freed_kib, mibToKib(1024));
}

TEST(ReclaimRunTest, AStuckDonorIsReplannedOntoTheOther) {
  TwoDonors d;
  ReclaimRun run(1, mibToKib(1024), d.views(), guards(), 0);
  run.update(d.views(), guards(), 1);
  d.actual[0] = 1900;  // gave 148 of its 512, then got stuck
  d.ack[0] = AckState::kStuck;
  auto targets = run.update(d.views(), guards(), 6);
  ASSERT_EQ(targets.size(), 1U);
  EXPECT_EQ(targets[0].vm, "b");
  EXPECT_EQ(targets[0].target_kib, mibToKib(2048 - 512 - 364));
  d.actual[1] = 2048 - 876;
  run.update(d.views(), guards(), 8);
  EXPECT_EQ(run.status().outcome, Outcome::kSuccess);
  EXPECT_EQ(run.status().refused_by, std::vector<std::string>{"a"});
}

TEST(ReclaimRunTest, ALiarIsNeverAskedForMoreThanItsShare) {
  // "a" claims to reach every target while the host sees its RSS unmoved.
  TwoDonors d;
  auto views = [&] {
    auto vms = d.views();
    const_cast<VmSample*>(vms[0].sample)->rss_kib = mibToKib(2048);
    return vms;
  };
  ReclaimRun run(1, mibToKib(1024), views(), guards(), 0);
  for (int t = 1; t <= 5; ++t) {
    for (const auto& target : run.update(views(), guards(), t)) {
      if (target.vm == "a") {
        EXPECT_EQ(target.target_kib, mibToKib(2048 - 512)) << t;
        d.actual[0] = 2048 - 512;  // claimed at once
      }
    }
  }
  // Once caught and refused, its share is re-planned onto the other, not onto it again.
  d.ack[0] = AckState::kUncooperative;
  auto targets = run.update(views(), guards(), 6);
  ASSERT_EQ(targets.size(), 1U);
  EXPECT_EQ(targets[0].vm, "b");
  EXPECT_EQ(targets[0].target_kib, mibToKib(2048 - 1024));
  EXPECT_EQ(run.status().refused_by, std::vector<std::string>{"a"});
}

TEST(ReclaimRunTest, RefusedWhenTheOthersCannotCover) {
  TwoDonors d;
  ReclaimRun run(1, mibToKib(3600), d.views(), guards(), 0);
  ASSERT_TRUE(run.active());
  d.ack[0] = AckState::kUncooperative;
  run.update(d.views(), guards(), 1);
  EXPECT_EQ(run.status().outcome, Outcome::kRefused);
  EXPECT_EQ(run.status().refused_by, std::vector<std::string>{"a"});
  EXPECT_EQ(run.status().text, "freed 0 of 3600 MiB; did not cooperate: a");
}

}  // namespace
}  // namespace balloond
