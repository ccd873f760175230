// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace balloond::libvirt {

// The facts of a domain's live XML that decide whether and how balloond may balloon it.
struct DomainFacts {
  bool has_balloon = false;           // a <memballoon> whose model is not 'none'
  std::optional<int> stats_period_s;  // <memballoon><stats period='N'/>; absent = not set
  int64_t min_guarantee_kib = 0;      // <memtune><min_guarantee>; 0 = none
  bool passthrough = false;           // a <hostdev> (VFIO) or an <interface type='hostdev'>
};

// Reads DomainFacts from domain XML as libvirt formats it. Tolerant: what it cannot find keeps its
// default.
DomainFacts parseDomainXml(const std::string& text);

}  // namespace balloond::libvirt
