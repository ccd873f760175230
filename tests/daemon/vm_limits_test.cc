// SPDX-License-Identifier: Apache-2.0
#include "daemon/vm_limits.h"

#include <fnmatch.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace balloond {
namespace {

using config::VmOverrideSpec;

// What the controller did before the index, kept as the reference: every entry, in order, matched
// with fnmatch.
policy::VmLimits referenceLimits(const std::vector<VmOverrideSpec>& entries,
                                 int64_t default_floor_kib, const VmSample& vm) {
  policy::VmLimits limits{.floor_kib = default_floor_kib,
                          .ceiling_kib = vm.max_kib,
                          .excluded = false,
                          .shares = policy::kDefaultShares};
  for (const auto& o : entries) {
    if (fnmatch(o.match.c_str(), vm.name.c_str(), 0) != 0) {
      continue;
    }
    if (o.floor_mib) {
      limits.floor_kib = mibToKib(*o.floor_mib);
    }
    if (o.ceiling_mib) {
      limits.ceiling_kib = mibToKib(*o.ceiling_mib);
    }
    if (o.excluded) {
      limits.excluded = *o.excluded;
    }
    if (o.shares) {
      limits.shares = *o.shares;
    }
  }
  limits.floor_kib = std::max(limits.floor_kib, vm.min_guarantee_kib);
  limits.excluded = limits.excluded || !vm.exclude_reason.empty();
  limits.ceiling_kib = std::clamp<int64_t>(limits.ceiling_kib, 0, vm.max_kib);
  limits.floor_kib = std::clamp<int64_t>(limits.floor_kib, 0, limits.ceiling_kib);
  return limits;
}

void expectSame(const policy::VmLimits& got, const policy::VmLimits& want, const std::string& vm) {
  EXPECT_EQ(got.floor_kib, want.floor_kib) << vm;
  EXPECT_EQ(got.ceiling_kib, want.ceiling_kib) << vm;
  EXPECT_EQ(got.excluded, want.excluded) << vm;
  EXPECT_EQ(got.shares, want.shares) << vm;
}

VmOverrideSpec entry(std::string match) {
  return {
      .match = std::move(match), .floor_mib = {}, .ceiling_mib = {}, .excluded = {}, .shares = {}};
}

VmSample vm(const std::string& name, double max_mib = 8192) {
  VmSample s;
  s.name = name;
  s.max_kib = mibToKib(max_mib);
  return s;
}

TEST(VmLimitIndexTest, GivesWhatMatchingEveryEntryInOrderGives) {
  std::mt19937 rng(20260514);  // NOLINT(cert-msc32-c,cert-msc51-cpp): a fixed seed, on purpose
  auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
  // Names and patterns share glob characters, an escape, a byte no UTF-8 has and a NUL (fnmatch
  // sees a string up to its first NUL), so names like "a[1]" meet the pattern "a[1]".
  const std::string alphabet("ab1*?[]\\!-\xff", 11);
  const std::string with_nul = alphabet + std::string(1, '\0');
  auto word = [&](const std::string& chars, std::size_t max_len) {
    std::string w;
    for (std::size_t n = pick(max_len + 1); n > 0; --n) {
      w += chars[pick(chars.size())];
    }
    return w;
  };
  for (int round = 0; round < 300; ++round) {
    std::vector<std::string> names;
    names.reserve(30);
    for (int i = 0; i < 30; ++i) {
      names.push_back(word(with_nul, 4));
    }
    std::vector<VmOverrideSpec> entries;
    for (std::size_t n = pick(25); n > 0; --n) {
      // Half the entries name a VM exactly (a glob where the name has glob characters).
      VmOverrideSpec e = entry(pick(2) == 0 ? names[pick(names.size())] : word(alphabet, 4));
      if (pick(2) == 0) {
        e.floor_mib = 100 + static_cast<double>(pick(4000)) / 3;
      }
      if (pick(2) == 0) {
        e.ceiling_mib = 500 + static_cast<double>(pick(8000)) / 7;
      }
      if (pick(3) == 0) {
        e.excluded = pick(2) == 0;
      }
      if (pick(3) == 0) {
        e.shares = 1 + static_cast<double>(pick(10000)) / 9;
      }
      entries.push_back(e);
    }
    const int64_t default_floor_kib = mibToKib(static_cast<double>(pick(1024)));
    VmLimitIndex index(entries, default_floor_kib);
    for (int pass = 0; pass < 2; ++pass) {  // the second from the cache, with other facts
      for (const auto& name : names) {
        VmSample s = vm(name, 1024 + static_cast<double>(pick(8192)));
        s.min_guarantee_kib = pick(4) == 0 ? mibToKib(static_cast<double>(pick(2048))) : 0;
        s.exclude_reason = pick(8) == 0 ? "vfio-passthrough" : "";
        expectSame(index.limitsFor(s), referenceLimits(entries, default_floor_kib, s), name);
      }
    }
  }
}

TEST(VmLimitIndexTest, LaterEntriesWinFieldByFieldAcrossExactNamesAndGlobs) {
  std::vector<VmOverrideSpec> entries = {entry("web*"), entry("web1"), entry("web?"), entry("*"),
                                         entry("web1")};
  entries[0].floor_mib = 512;
  entries[0].ceiling_mib = 4096;
  entries[1].floor_mib = 1024;  // undone by "*" below
  entries[1].shares = 500;
  entries[2].excluded = true;
  entries[2].shares = 2000;
  entries[3].floor_mib = 300;
  entries[4].excluded = false;
  VmLimitIndex index(entries, mibToKib(256));

  const ConfiguredLimits web1 = index.configured("web1");
  EXPECT_EQ(web1.floor_kib, mibToKib(300));
  EXPECT_EQ(web1.ceiling_kib, mibToKib(4096));
  EXPECT_EQ(web1.excluded, false);
  EXPECT_EQ(web1.shares, 2000);
  const ConfiguredLimits web2 = index.configured("web2");
  EXPECT_EQ(web2.excluded, true);
  EXPECT_EQ(web2.shares, 2000);
  const ConfiguredLimits web10 = index.configured("web10");
  EXPECT_EQ(web10.floor_kib, mibToKib(300));
  EXPECT_EQ(web10.ceiling_kib, mibToKib(4096));
  EXPECT_EQ(web10.excluded, std::nullopt);
  EXPECT_EQ(web10.shares, std::nullopt);
  const ConfiguredLimits only_star{
      .floor_kib = mibToKib(300), .ceiling_kib = {}, .excluded = {}, .shares = {}};
  EXPECT_EQ(index.configured("db1"), only_star);

  const policy::VmLimits db1 = index.limitsFor(vm("db1"));
  EXPECT_EQ(db1.floor_kib, mibToKib(300));
  EXPECT_EQ(db1.ceiling_kib, mibToKib(8192));
  EXPECT_FALSE(db1.excluded);
  EXPECT_EQ(db1.shares, policy::kDefaultShares);
  EXPECT_EQ(VmLimitIndex({}, mibToKib(256)).limitsFor(vm("db1")).floor_kib, mibToKib(256));
}

TEST(VmLimitIndexTest, GlobCharactersInAnEntryAreAGlobEvenWhenAVmHasThatName) {
  std::vector<VmOverrideSpec> entries = {entry("a[1]"), entry("a\\[1]"), entry("b\\c")};
  entries[0].floor_mib = 100;
  entries[1].floor_mib = 200;
  entries[2].floor_mib = 300;
  VmLimitIndex index(entries, 0);
  EXPECT_EQ(index.configured("a1").floor_kib, mibToKib(100));    // "[1]" is a bracket expression
  EXPECT_EQ(index.configured("a[1]").floor_kib, mibToKib(200));  // "\[" is a literal "["
  EXPECT_EQ(index.configured("bc").floor_kib, mibToKib(300));    // "\c" is "c"
  EXPECT_EQ(index.configured("b\\c").floor_kib, std::nullopt);
}

TEST(VmLimitIndexTest, TheHypervisorsFactsApplyAtEveryLookup) {
  std::vector<VmOverrideSpec> entries = {entry("db1")};
  entries[0].floor_mib = 1024;
  entries[0].ceiling_mib = 6144;
  VmLimitIndex index(entries, 0);
  EXPECT_EQ(index.limitsFor(vm("db1", 8192)).ceiling_kib, mibToKib(6144));
  // Cached by name, but the max, the floor hint and the exclusion are this sample's.
  VmSample shrunk = vm("db1", 4096);
  shrunk.min_guarantee_kib = mibToKib(2048);
  shrunk.exclude_reason = "vfio-passthrough";
  const policy::VmLimits limits = index.limitsFor(shrunk);
  EXPECT_EQ(limits.ceiling_kib, mibToKib(4096));
  EXPECT_EQ(limits.floor_kib, mibToKib(2048));
  EXPECT_TRUE(limits.excluded);
  EXPECT_EQ(index.cachedNames(), 1U);
}

TEST(VmLimitIndexTest, CachesEachNameUntilForgotten) {
  std::vector<VmOverrideSpec> entries = {entry("web*")};
  entries[0].floor_mib = 512;
  VmLimitIndex index(entries, 0);
  EXPECT_EQ(index.cachedNames(), 0U);
  index.limitsFor(vm("web1"));
  index.limitsFor(vm("web1"));
  index.limitsFor(vm("db1"));  // no entry matches: cached all the same
  EXPECT_EQ(index.cachedNames(), 2U);
  index.forget("web1");
  index.forget("never-seen");
  EXPECT_EQ(index.cachedNames(), 1U);
  EXPECT_EQ(index.limitsFor(vm("web1")).floor_kib, mibToKib(512));  // matched afresh
  EXPECT_EQ(index.cachedNames(), 2U);
}

}  // namespace
}  // namespace balloond
