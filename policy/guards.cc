#include "policy/guards.h"

#include <algorithm>
#include <cstdlib>
#include <map>

namespace balloond::policy {

int64_t effectiveFloorKib(const VmView& vm, const Guards& guards) {
  const VmSample& s = *vm.sample;
  int64_t floor = vm.limits.floor_kib;
  if (vm.stats_fresh && s.guest.available_kib) {
    const int64_t used =
        s.actual_kib - std::clamp<int64_t>(*s.guest.available_kib, 0, s.actual_kib);
    floor = std::max(floor, used + guards.need_margin_kib);
  }
  return std::min(floor, vm.limits.ceiling_kib);
}

namespace {

// A target and the trail of what shaped it.
struct Shaped {
  int64_t target_kib;
  std::string reason;
  void set(int64_t kib, const char* guard) {
    if (kib != target_kib) {
      target_kib = kib;
      reason += std::string("/") + guard;
    }
  }
};

// Per-VM guards: bounds, step limits, shrink hold-offs and hysteresis.
Shaped guardOne(const VmView& vm, const Decision& d, const Guards& g, const PolicyState& state,
                double now_s) {
  const int64_t actual = vm.sample->actual_kib;
  Shaped out{d.target_kib, d.reason};
  if (vm.shrink_blocked && out.target_kib < actual) {
    out.set(std::max(vm.target_kib, actual), "stuck-hold");
  }
  if (vm.grow_blocked && out.target_kib > actual) {
    out.set(std::min(vm.target_kib, actual), "stuck-hold");
  }
  if (out.target_kib < actual) {
    if (!vm.stats_fresh) {
      out.set(actual, "stale-stats");
    }
    auto it = state.vms.find(vm.sample->name);
    if (!d.urgent && it != state.vms.end() && now_s - it->second.last_grow_s < g.grow_holdoff_s) {
      out.set(std::max(out.target_kib, std::min(vm.target_kib, actual)), "grow-holdoff");
    }
    if (!d.urgent) {
      out.set(std::max(out.target_kib, actual - g.inflate_step_kib), "inflate-step");
    }
  } else if (out.target_kib > actual) {
    out.set(std::min(out.target_kib, actual + g.deflate_step_kib), "deflate-step");
  }
  // A guest stuck growing cannot take what it needs: only the configured floor still binds.
  const int64_t floor = vm.grow_blocked ? std::min(vm.limits.floor_kib, vm.limits.ceiling_kib)
                                        : effectiveFloorKib(vm, g);
  out.set(std::max(out.target_kib, floor), "floor");
  out.set(std::min(out.target_kib, vm.limits.ceiling_kib), "ceiling");
  const bool small = std::abs(out.target_kib - vm.target_kib) < g.min_change_kib;
  const bool in_bounds = vm.target_kib >= floor && vm.target_kib <= vm.limits.ceiling_kib;
  if (small && in_bounds) {
    out.target_kib = vm.target_kib;  // hysteresis: not worth a push; the reason stays for the view
  }
  return out;
}

// How urgently a VM needs memory: lower available fraction first.
double urgency(const VmView& vm) {
  const auto& s = *vm.sample;
  if (!s.guest.available_kib || s.actual_kib <= 0) {
    return 1.0;
  }
  return static_cast<double>(*s.guest.available_kib) / static_cast<double>(s.actual_kib);
}

// Growth comes only out of host memory above the reserve, most pressured VMs first.
void applyHostReserve(const PolicyInput& input, std::vector<const VmView*>& order,
                      std::map<std::string, Shaped>& shaped, const Guards& g) {
  std::stable_sort(order.begin(), order.end(),
                   [](const VmView* a, const VmView* b) { return urgency(*a) < urgency(*b); });
  int64_t budget = std::max<int64_t>(0, input.host.available_kib - g.host_reserve_kib);
  for (const VmView* vm : order) {
    Shaped& s = shaped.at(vm->sample->name);
    const int64_t actual = vm->sample->actual_kib;
    const int64_t growth = s.target_kib - actual;
    if (growth <= 0) {
      continue;
    }
    const int64_t granted = std::min(growth, budget);
    budget -= granted;
    if (granted < growth) {
      // Never below where it stands or its floor: the floor wins over the reserve.
      s.set(
          std::max({actual + granted, std::min(vm->target_kib, actual), effectiveFloorKib(*vm, g)}),
          "host-reserve");
    }
  }
}

}  // namespace

std::vector<Decision> applyGuards(const PolicyInput& input, const std::vector<Decision>& proposed,
                                  const Guards& guards, const PolicyState& state) {
  std::map<std::string, const Decision*> by_vm;
  for (const auto& d : proposed) {
    by_vm[d.vm] = &d;
  }
  std::map<std::string, Shaped> shaped;
  std::vector<const VmView*> managed;
  for (const auto& vm : input.vms) {
    if (vm.limits.excluded || vm.ack == AckState::kNoDriver || vm.ack == AckState::kExcluded) {
      continue;
    }
    auto it = by_vm.find(vm.sample->name);
    const Decision keep{vm.sample->name, vm.target_kib, "kept"};
    shaped.emplace(vm.sample->name, guardOne(vm, it == by_vm.end() ? keep : *it->second, guards,
                                             state, input.now_s));
    managed.push_back(&vm);
  }
  applyHostReserve(input, managed, shaped, guards);

  std::vector<Decision> out;
  for (const auto& vm : input.vms) {
    auto it = shaped.find(vm.sample->name);
    if (it != shaped.end()) {
      out.push_back({vm.sample->name, it->second.target_kib, it->second.reason});
    }
  }
  return out;
}

}  // namespace balloond::policy
