// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "config/spec.h"
#include "policy/vm_view.h"
#include "proto/types.h"

namespace balloond {

// What a VM's matching `vms:` entries set, merged in config order (later entries win, field by
// field); unset where no matching entry sets the field.
struct ConfiguredLimits {
  std::optional<int64_t> floor_kib;
  std::optional<int64_t> ceiling_kib;
  std::optional<bool> excluded;
  std::optional<double> shares;

  friend bool operator==(const ConfiguredLimits&, const ConfiguredLimits&) = default;
};

// The config's `vms:` entries compiled for lookup by VM name, built once per configuration by the
// controller (again on reconfigure) and by the offline evaluation. An entry without a glob
// character (`*`, `?`, `[`, or fnmatch's escape `\`) is found by name in a hash; the glob entries
// are tried in order with fnmatch once per VM name, and a name's merged entries are cached until
// forget(). The result is what matching every entry in order with fnmatch gives, so a VM named
// "a[1]" is not matched by the entry "a[1]" (a glob matching "a1"), as before.
class VmLimitIndex {
 public:
  VmLimitIndex() = default;
  VmLimitIndex(const std::vector<config::VmOverrideSpec>& entries, int64_t default_floor_kib);

  // The VM's floor, ceiling, exclusion and shares: the defaults, its matching entries, then the
  // hypervisor's floor hint (min_guarantee), exclusion and max on top, as of this sample.
  policy::VmLimits limitsFor(const VmSample& vm);
  // Its matching entries merged; matched on the name's first lookup and cached.
  const ConfiguredLimits& configured(const std::string& name);
  // Drops a name's cached match (the VM is gone); a later lookup matches it afresh.
  void forget(const std::string& name) { cache_.erase(name); }
  // How many VM names have a cached match.
  std::size_t cachedNames() const { return cache_.size(); }

 private:
  ConfiguredLimits match(const std::string& name) const;

  int64_t default_floor_kib_ = 0;
  std::vector<ConfiguredLimits> entries_;  // each entry's fields, in order
  std::unordered_map<std::string, std::vector<std::size_t>> exact_;  // name -> entries, ascending
  std::vector<std::pair<std::string, std::size_t>> globs_;           // pattern, entry; in order
  std::unordered_map<std::string, ConfiguredLimits> cache_;          // VM name -> merged entries
};

}  // namespace balloond
