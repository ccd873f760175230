// SPDX-License-Identifier: Apache-2.0
#include "policy/guards.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstdlib>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "policy/saturating.h"

namespace balloond::policy {

int64_t effectiveFloorKib(const VmView& vm, const Guards& guards) {
  const VmSample& s = *vm.sample;
  int64_t floor = vm.limits.floor_kib;
  if (vm.stats_fresh && s.guest.available_kib) {
    const int64_t used =
        s.actual_kib - std::clamp<int64_t>(*s.guest.available_kib, 0, s.actual_kib);
    floor = std::max(floor, satAdd(used, guards.need_margin_kib));
  }
  return std::min(floor, vm.limits.ceiling_kib);
}

int64_t inflateStepKib(const VmView& vm, const Guards& guards, bool emergency) {
  // Capped at the configured step before the cast: a huge actual cannot overflow it.
  const double relative = guards.inflate_step_fraction * static_cast<double>(vm.sample->actual_kib);
  const int64_t step = relative >= static_cast<double>(guards.inflate_step_kib)
                           ? guards.inflate_step_kib
                           : static_cast<int64_t>(relative);
  return emergency ? static_cast<int64_t>(guards.emergency_step_factor * static_cast<double>(step))
                   : step;
}

namespace {

// The guards that can shape a target, by the number a trail records (0: none).
constexpr std::array<std::string_view, 12> kGuardNames = {"",
                                                          "stuck-hold",
                                                          "grow-in-flight",
                                                          "stale-stats",
                                                          "not-following",
                                                          "grow-holdoff",
                                                          "inflate-step",
                                                          "deflate-step",
                                                          "floor",
                                                          "ceiling",
                                                          "host-emergency",
                                                          "host-reserve"};
enum Guard : uint8_t {
  kStuckHold = 1,
  kGrowInFlight,
  kStaleStats,
  kNotFollowing,
  kGrowHoldoff,
  kInflateStep,
  kDeflateStep,
  kFloor,
  kCeiling,
  kHostEmergency,
  kHostReserve,
};

// A target and the trail of what shaped it: the policy's reason plus any guards, appended. The
// trail packs a guard number per 4 bits, first in the lowest, so that a slot stays small.
struct Shaped {
  // Each guard below calls set() at most once per VM per tick (stuck-hold twice): 12 calls in all.
  static constexpr int kMaxTrail = 16;
  int64_t target_kib = 0;
  std::string_view reason;  // the policy's
  uint64_t trail = 0;       // the guards that changed it, in order
  int trail_size = 0;
  void set(int64_t kib, Guard guard) {
    if (kib != target_kib) {
      target_kib = kib;
      if (trail_size < kMaxTrail) {
        trail |= static_cast<uint64_t>(guard) << (4 * trail_size++);
      }
    }
  }
};

// The text of a policy reason and a guard trail, "rule/guard/guard...".
std::string reasonText(std::string_view reason, uint64_t trail) {
  std::string text(reason);
  for (; trail != 0; trail >>= 4) {
    text += '/';
    text += kGuardNames.at(trail & 0xf);
  }
  return text;
}

// "rule/guard/guard..." for a shaped target, in storage that lives as long as the process: the
// combinations of policy tokens and guard trails are few (each guard at most once, in a fixed
// order), and interning them spares an allocation per VM per tick. Each thread remembers what it
// found by the reason's address (policies pass literals or interned tokens, which never move), so
// the usual lookup builds no text and takes no lock.
std::string_view composedReason(const Shaped& s) {
  if (s.trail_size == 0) {
    return s.reason;
  }
  struct Key {
    const char* data;
    std::size_t size;
    uint64_t trail;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    std::size_t operator()(const Key& k) const {
      return std::hash<const void*>{}(k.data) ^ (k.size * 0x9e3779b97f4a7c15ULL) ^
             std::hash<uint64_t>{}(k.trail * 0xff51afd7ed558ccdULL);
    }
  };
  thread_local std::unordered_map<Key, std::string_view, KeyHash> seen;
  const Key key{s.reason.data(), s.reason.size(), s.trail};
  if (auto it = seen.find(key); it != seen.end()) {
    return it->second;
  }
  static std::mutex mutex;
  static std::unordered_set<std::string> reasons;
  std::string text = reasonText(s.reason, s.trail);
  const std::lock_guard lock(mutex);
  const std::string_view interned = *reasons.insert(std::move(text)).first;
  seen.emplace(key, interned);
  return interned;
}

// One managed VM while the guards run: its view, its shaped target and its urgency.
struct Slot {
  const VmView* vm;
  double urgency;  // available fraction: lower is more pressured
  Shaped shaped;
  bool urgent = false;  // an operator's request: no inflate step limit, no grow hold-off
};

// Was the VM given memory within the hold-off? Looked up only for VMs about to shrink: with
// thousands of VMs the lookups, not the arithmetic, are what a tick costs.
bool heldOff(const Slot& s, const Guards& g, const PolicyState& state, double now_s) {
  if (g.grow_holdoff_s <= 0) {
    return false;
  }
  const VmPolicyState* h = findHistory(*s.vm, state);
  return h != nullptr && now_s - h->last_grow_s < g.grow_holdoff_s;
}

// Per-VM guards: bounds, step limits, shrink hold-offs and hysteresis.
void guardOne(Slot& slot, const Guards& g, const PolicyState& state, double now_s) {
  const VmView& vm = *slot.vm;
  Shaped& out = slot.shaped;
  const int64_t actual = vm.sample->actual_kib;
  if (vm.shrink_blocked && out.target_kib < actual) {
    out.set(std::max(vm.target_kib, actual), kStuckHold);
  }
  if (vm.grow_blocked && out.target_kib > actual) {
    out.set(std::min(vm.target_kib, actual), kStuckHold);
  }
  // A grow in flight (or given within the hold-off): the guest has not received that memory yet,
  // so what it reports now is no reason to take back the target in force.
  if (!slot.urgent && !vm.grow_blocked && out.target_kib < vm.target_kib &&
      vm.target_kib > actual &&
      (vm.ack == AckState::kConverging || heldOff(slot, g, state, now_s))) {
    out.set(vm.target_kib, kGrowInFlight);
  }
  if (out.target_kib < actual) {
    if (!vm.stats_fresh) {
      out.set(actual, kStaleStats);
    }
    if (!canShrink(vm.ack)) {
      out.set(actual, kNotFollowing);
    }
    const int64_t held = std::min(vm.target_kib, actual);  // no further than already asked
    if (!slot.urgent && out.target_kib < held && heldOff(slot, g, state, now_s)) {
      out.set(held, kGrowHoldoff);
    }
    if (!slot.urgent) {
      out.set(std::max(out.target_kib, satSub(actual, inflateStepKib(vm, g, false))), kInflateStep);
    }
  } else if (out.target_kib > actual) {
    out.set(std::min(out.target_kib, satAdd(actual, g.deflate_step_kib)), kDeflateStep);
  }
  // A guest stuck growing cannot take what it needs: only the configured floor still binds.
  const int64_t floor = vm.grow_blocked ? std::min(vm.limits.floor_kib, vm.limits.ceiling_kib)
                                        : effectiveFloorKib(vm, g);
  out.set(std::max(out.target_kib, floor), kFloor);
  out.set(std::min(out.target_kib, vm.limits.ceiling_kib), kCeiling);
  const bool small = std::abs(out.target_kib - vm.target_kib) < g.min_change_kib;
  // The need-based part of the floor moves with every report: a target in force within the
  // deadband under it stays, like any small change. A configured floor and the ceiling bind.
  const int64_t configured = std::min(vm.limits.floor_kib, vm.limits.ceiling_kib);
  const bool in_bounds = vm.target_kib >= std::max(configured, satSub(floor, g.min_change_kib)) &&
                         vm.target_kib <= vm.limits.ceiling_kib;
  if (small && in_bounds) {
    out.target_kib = vm.target_kib;  // hysteresis: not worth a push; the reason stays for the view
  }
}

// How urgently a VM needs memory: lower available fraction first.
double urgency(const VmView& vm) {
  const auto& s = *vm.sample;
  if (!s.guest.available_kib || s.actual_kib <= 0) {
    return 1.0;
  }
  return static_cast<double>(*s.guest.available_kib) / static_cast<double>(s.actual_kib);
}

// A double as an unsigned key that sorts the same way (IEEE 754: flip the sign bit of a
// positive number, every bit of a negative one).
uint64_t orderedKey(double d) {
  const auto bits = std::bit_cast<uint64_t>(d == 0 ? 0.0 : d);  // -0 sorts as 0
  return (bits >> 63) != 0 ? ~bits : bits | (uint64_t{1} << 63);
}

// The slots' positions (of `which`, given in input order) by urgency, most pressured first
// (`most_pressured_first`) or least; ties in input order. A stable radix sort on the urgency's
// bits, eight passes over plain (key, position) pairs: with thousands of VMs a comparison sort
// through pointers to the slots was a fifth of a tick.
std::vector<uint32_t> byUrgency(const std::vector<Slot>& slots, const std::vector<uint32_t>& which,
                                bool most_pressured_first) {
  struct Ranked {
    uint64_t key;
    uint32_t position;
  };
  std::vector<Ranked> ranked;
  ranked.reserve(which.size());
  for (const uint32_t i : which) {
    const double u = slots[i].urgency;
    ranked.push_back({orderedKey(most_pressured_first ? u : -u), i});
  }
  std::vector<Ranked> buffer(ranked.size());
  for (int shift = 0; shift < 64; shift += 8) {
    std::array<std::size_t, 257> start{};
    for (const Ranked& r : ranked) {
      ++start.at(((r.key >> shift) & 0xff) + 1);
    }
    if (start.at(((ranked.empty() ? 0 : ranked[0].key >> shift) & 0xff) + 1) == ranked.size()) {
      continue;  // every key has the same byte here: this pass would not move anything
    }
    for (std::size_t b = 1; b < start.size(); ++b) {
      start.at(b) += start.at(b - 1);
    }
    for (const Ranked& r : ranked) {
      buffer[start.at((r.key >> shift) & 0xff)++] = r;
    }
    ranked.swap(buffer);
  }
  std::vector<uint32_t> order;
  order.reserve(ranked.size());
  for (const Ranked& r : ranked) {
    order.push_back(r.position);
  }
  return order;
}

// Host available under the reserve: take the shortfall back with emergency-sized steps, from the
// least pressured VMs first (highest available fraction), never below a floor, never from a VM
// that cannot shrink now (stale stats, stuck, within its grow hold-off).
void applyEmergency(const PolicyInput& input, std::vector<Slot>& slots, const Guards& g,
                    const PolicyState& state) {
  if (input.host.available_kib >= g.host_reserve_kib) {
    return;
  }
  int64_t remaining = g.host_reserve_kib - input.host.available_kib;
  std::vector<uint32_t> all;
  all.reserve(slots.size());
  for (uint32_t i = 0; i < slots.size(); ++i) {  // what targets already take back counts
    const Slot& s = slots[i];
    remaining -= std::max<int64_t>(0, s.vm->sample->actual_kib - s.shaped.target_kib);
    all.push_back(i);
  }
  if (remaining <= 0) {
    return;
  }
  for (const uint32_t i : byUrgency(slots, all, /*most_pressured_first=*/false)) {
    if (remaining <= 0) {
      return;
    }
    Slot* slot = &slots[i];
    const VmView& vm = *slot->vm;
    if (!vm.stats_fresh || !canShrink(vm.ack) || vm.shrink_blocked ||
        heldOff(*slot, g, state, input.now_s)) {
      continue;
    }
    Shaped& s = slot->shaped;
    const int64_t actual = vm.sample->actual_kib;
    const int64_t lowest =
        std::max(effectiveFloorKib(vm, g), satSub(actual, inflateStepKib(vm, g, true)));
    const int64_t from = std::min(s.target_kib, actual);
    const int64_t take = std::min(remaining, from - lowest);
    if (take > 0) {
      s.set(from - take, kHostEmergency);
      remaining -= take;
    }
  }
}

// Growth comes only out of host memory above the reserve, most pressured VMs first. Growth up to
// a VM's need-based floor (what it uses plus the margin) may also take the reserve, but never
// more than the host has; a configured floor always wins.
void applyHostReserve(const PolicyInput& input, std::vector<Slot>& slots, const Guards& g) {
  std::vector<uint32_t> growing;
  int64_t wanted = 0;
  for (uint32_t i = 0; i < slots.size(); ++i) {
    const Slot& s = slots[i];
    if (s.shaped.target_kib > s.vm->sample->actual_kib) {
      growing.push_back(i);
      wanted = satAdd(wanted, s.shaped.target_kib - s.vm->sample->actual_kib);
    }
  }
  int64_t budget = std::max<int64_t>(0, input.host.available_kib - g.host_reserve_kib);
  if (wanted <= budget) {
    return;  // every VM gets all it asked for: who goes first does not matter
  }
  int64_t spare = std::max<int64_t>(0, input.host.available_kib);
  for (const uint32_t i : byUrgency(slots, growing, /*most_pressured_first=*/true)) {
    Slot* slot = &slots[i];
    const VmView& vm = *slot->vm;
    Shaped& s = slot->shaped;
    const int64_t actual = vm.sample->actual_kib;
    const int64_t growth = s.target_kib - actual;
    const int64_t granted = std::min(growth, budget);
    budget -= granted;
    spare -= granted;
    if (granted < growth) {
      const int64_t need = std::min(growth, effectiveFloorKib(vm, g) - actual);
      const int64_t extra = std::clamp<int64_t>(need - granted, 0, std::max<int64_t>(0, spare));
      spare -= extra;
      s.set(std::max({satAdd(satAdd(actual, granted), extra), std::min(vm.target_kib, actual),
                      std::min(vm.limits.floor_kib, vm.limits.ceiling_kib)}),
            kHostReserve);
    }
  }
}

// Each VM's decision: by position when the policy kept the input's order (skipping VMs is
// fine), otherwise by name; a VM with two decisions gets the last.
std::vector<const Decision*> matchDecisions(const PolicyInput& input,
                                            const std::vector<Decision>& proposed) {
  std::vector<const Decision*> by_vm(input.vms.size(), nullptr);
  size_t j = 0;
  bool in_order = true;
  for (const auto& d : proposed) {
    while (j < input.vms.size() && !sameVm(input.vms[j].sample->name, d.vm)) {
      ++j;
    }
    if (j == input.vms.size()) {
      in_order = false;
      break;
    }
    by_vm[j++] = &d;
  }
  if (!in_order) {
    std::unordered_map<std::string_view, const Decision*> by_name;
    for (const auto& d : proposed) {
      by_name[d.vm] = &d;
    }
    for (size_t i = 0; i < input.vms.size(); ++i) {
      auto it = by_name.find(input.vms[i].sample->name);
      by_vm[i] = it == by_name.end() ? nullptr : it->second;
    }
  }
  return by_vm;
}

}  // namespace

std::vector<Decision> applyGuards(const PolicyInput& input, const std::vector<Decision>& proposed,
                                  const Guards& guards, const PolicyState& state) {
  static constexpr std::string_view kKept = "kept";
  const auto by_vm = matchDecisions(input, proposed);
  std::vector<Slot> slots;
  slots.reserve(input.vms.size());
  for (size_t i = 0; i < input.vms.size(); ++i) {
    const VmView& vm = input.vms[i];
    if (vm.limits.excluded || vm.ack == AckState::kNoDriver || vm.ack == AckState::kExcluded) {
      continue;
    }
    Slot& slot = slots.emplace_back(
        Slot{.vm = &vm,
             .urgency = urgency(vm),
             .shaped = by_vm[i] != nullptr
                           ? Shaped{.target_kib = by_vm[i]->target_kib, .reason = by_vm[i]->reason}
                           : Shaped{.target_kib = vm.target_kib, .reason = kKept},
             .urgent = by_vm[i] != nullptr && by_vm[i]->urgent});
    guardOne(slot, guards, state, input.now_s);
  }
  applyEmergency(input, slots, guards, state);
  applyHostReserve(input, slots, guards);

  std::vector<Decision> out;
  out.reserve(slots.size());
  for (const Slot& s : slots) {
    out.push_back({s.vm->sample->name, s.shaped.target_kib, composedReason(s.shaped)});
  }
  return out;
}

}  // namespace balloond::policy
