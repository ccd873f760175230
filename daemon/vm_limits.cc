// SPDX-License-Identifier: Apache-2.0
#include "daemon/vm_limits.h"

#include <fnmatch.h>

#include <algorithm>
#include <iterator>

namespace balloond {

namespace {

// What fnmatch sees of a string: up to its first NUL.
std::string cString(const std::string& s) {
  return s.substr(0, s.find('\0'));
}

// Without FNM_NOESCAPE a backslash quotes the next character, so it makes a pattern too.
bool isGlob(const std::string& pattern) {
  return pattern.find_first_of("*?[\\") != std::string::npos;
}

}  // namespace

VmLimitIndex::VmLimitIndex(const std::vector<config::VmOverrideSpec>& entries,
                           int64_t default_floor_kib)
    : default_floor_kib_(default_floor_kib) {
  entries_.reserve(entries.size());
  for (const auto& e : entries) {
    const std::size_t index = entries_.size();
    entries_.push_back(ConfiguredLimits{
        .floor_kib = e.floor_mib ? std::optional(mibToKib(*e.floor_mib)) : std::nullopt,
        .ceiling_kib = e.ceiling_mib ? std::optional(mibToKib(*e.ceiling_mib)) : std::nullopt,
        .excluded = e.excluded,
        .shares = e.shares});
    std::string pattern = cString(e.match);
    if (isGlob(pattern)) {
      globs_.emplace_back(std::move(pattern), index);
    } else {
      exact_[std::move(pattern)].push_back(index);
    }
  }
}

ConfiguredLimits VmLimitIndex::match(const std::string& name) const {
  const std::string c_name = cString(name);
  std::vector<std::size_t> hits;
  if (auto it = exact_.find(c_name); it != exact_.end()) {
    hits = it->second;
  }
  const auto exact_count = static_cast<std::ptrdiff_t>(hits.size());
  for (const auto& [pattern, index] : globs_) {
    if (fnmatch(pattern.c_str(), c_name.c_str(), 0) == 0) {
      hits.push_back(index);
    }
  }
  // Both runs are ascending: merged, they are the matching entries in config order.
  std::inplace_merge(hits.begin(), std::next(hits.begin(), exact_count), hits.end());
  ConfiguredLimits merged;
  for (const std::size_t index : hits) {
    const ConfiguredLimits& e = entries_[index];
    if (e.floor_kib) {
      merged.floor_kib = e.floor_kib;
    }
    if (e.ceiling_kib) {
      merged.ceiling_kib = e.ceiling_kib;
    }
    if (e.excluded) {
      merged.excluded = e.excluded;
    }
    if (e.shares) {
      merged.shares = e.shares;
    }
  }
  return merged;
}

const ConfiguredLimits& VmLimitIndex::configured(const std::string& name) {
  auto it = cache_.find(name);
  if (it == cache_.end()) {
    it = cache_.emplace(name, match(name)).first;
  }
  return it->second;
}

policy::VmLimits VmLimitIndex::limitsFor(const VmSample& vm) {
  const ConfiguredLimits& c = configured(vm.name);
  policy::VmLimits limits{.floor_kib = c.floor_kib.value_or(default_floor_kib_),
                          .ceiling_kib = c.ceiling_kib.value_or(vm.max_kib),
                          .excluded = c.excluded.value_or(false),
                          .shares = c.shares.value_or(policy::kDefaultShares)};
  // The hypervisor's own floor hint and exclusion (channel-reported) come on top of the config.
  limits.floor_kib = std::max(limits.floor_kib, vm.min_guarantee_kib);
  limits.excluded = limits.excluded || !vm.exclude_reason.empty();
  limits.ceiling_kib = std::clamp<int64_t>(limits.ceiling_kib, 0, vm.max_kib);
  limits.floor_kib = std::clamp<int64_t>(limits.floor_kib, 0, limits.ceiling_kib);
  return limits;
}

}  // namespace balloond
