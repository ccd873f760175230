// SPDX-License-Identifier: Apache-2.0
#include "daemon/libvirt/domain_xml.h"

#include <gtest/gtest.h>

namespace balloond::libvirt {
namespace {

TEST(DomainXmlTest, ReadsBalloonPeriodGuaranteeAndPassthrough) {
  const DomainFacts f = parseDomainXml(R"(<domain type='kvm'>
  <name>web</name>
  <memory unit='KiB'>4194304</memory>
  <memtune>
    <hard_limit unit='KiB'>5000000</hard_limit>
    <min_guarantee unit='MiB'>1024</min_guarantee>
  </memtune>
  <devices>
    <hostdev mode='subsystem' type='pci' managed='yes'>
      <source><address domain='0x0000' bus='0x01' slot='0x00' function='0x0'/></source>
    </hostdev>
    <memballoon model='virtio'>
      <stats period='5'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x06' function='0x0'/>
    </memballoon>
  </devices>
</domain>)");
  EXPECT_TRUE(f.has_balloon);
  EXPECT_EQ(f.stats_period_s, 5);
  EXPECT_EQ(f.min_guarantee_kib, 1024 * 1024);
  EXPECT_TRUE(f.passthrough);
}

TEST(DomainXmlTest, DefaultsWhenAbsent) {
  const DomainFacts f = parseDomainXml("<domain><devices></devices></domain>");
  EXPECT_FALSE(f.has_balloon);
  EXPECT_FALSE(f.stats_period_s.has_value());
  EXPECT_EQ(f.min_guarantee_kib, 0);
  EXPECT_FALSE(f.passthrough);
}

TEST(DomainXmlTest, ModelNoneIsNoBalloon) {
  EXPECT_FALSE(
      parseDomainXml("<domain><devices><memballoon model='none'/></devices></domain>").has_balloon);
  EXPECT_TRUE(parseDomainXml("<domain><devices><memballoon model=\"xen\"/></devices></domain>")
                  .has_balloon);
}

TEST(DomainXmlTest, AStatsTagOutsideTheBalloonIsNotItsPeriod) {
  const DomainFacts f = parseDomainXml(
      "<domain><devices><memballoon model='virtio'/><foo><stats period='9'/></foo></devices>"
      "</domain>");
  EXPECT_TRUE(f.has_balloon);
  EXPECT_FALSE(f.stats_period_s.has_value());
}

TEST(DomainXmlTest, GuaranteeUnits) {
  auto kib = [](const std::string& unit, const std::string& v) {
    return parseDomainXml("<domain><memtune><min_guarantee unit='" + unit + "'>" + v +
                          "</min_guarantee></memtune></domain>")
        .min_guarantee_kib;
  };
  EXPECT_EQ(kib("KiB", "2048"), 2048);
  EXPECT_EQ(kib("GiB", "2"), 2 * 1024 * 1024);
  EXPECT_EQ(kib("bytes", "1048576"), 1024);
  EXPECT_EQ(kib("furlongs", "3"), 0) << "an unknown unit is no floor, not a wrong one";
}

TEST(DomainXmlTest, HostdevInterfaceIsPassthroughButOtherInterfacesAreNot) {
  EXPECT_TRUE(parseDomainXml("<domain><devices><interface type='hostdev'/></devices></domain>")
                  .passthrough);
  EXPECT_FALSE(parseDomainXml("<domain><devices><interface type='network'/><hostdevice/>"
                              "</devices></domain>")
                   .passthrough);
}

}  // namespace
}  // namespace balloond::libvirt
