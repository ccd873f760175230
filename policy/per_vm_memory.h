// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "policy/memory.h"
#include "policy/policy.h"

namespace balloond::policy {

// A policy's memory of each VM, by name, found cheaply on the usual tick: the VMs come in the
// same order as last tick, so each position remembers the entry it found and only checks that
// the name still matches, instead of hashing every name every tick (10,000 VMs: ~1 ms of a
// tick). The map's entries do not move when it grows, so the remembered ones stay valid until
// an entry is erased, which forgets them all.
template <typename T>
class PerVmMemory {
 public:
  // The entry of the VM at `position` of this tick's input, made when new.
  T& of(std::size_t position, const std::string& name) {
    if (position < by_position_.size()) {
      const Slot& slot = by_position_[position];
      if (slot.name != nullptr && *slot.name == name) {
        return *slot.value;
      }
    } else {
      by_position_.resize(position + 1);
    }
    auto& [key, value] = *vms_.try_emplace(name).first;
    by_position_[position] = {&key, &value};
    return value;
  }

  // Drops the VMs that are not in this tick's input (forgetGoneVms); `kept`: how many entries
  // of() gave this tick.
  void forgetGone(const PolicyInput& input, std::size_t kept) {
    const std::size_t before = vms_.size();
    forgetGoneVms(vms_, input, kept);
    if (vms_.size() != before) {
      by_position_.clear();
    }
  }

  [[nodiscard]] const std::unordered_map<std::string, T>& all() const { return vms_; }

  void replace(std::unordered_map<std::string, T> vms) {
    vms_ = std::move(vms);
    by_position_.clear();
  }

 private:
  // What one input position found last: the entry's name and value, inside the map.
  struct Slot {
    const std::string* name = nullptr;
    T* value = nullptr;
  };
  std::unordered_map<std::string, T> vms_;
  std::vector<Slot> by_position_;
};

}  // namespace balloond::policy
