// SPDX-License-Identifier: Apache-2.0
#include "policy/share_policy.h"

#include <algorithm>
#include <cmath>

#include "policy/memory.h"
#include "policy/registry.h"
#include "policy/saturating.h"
#include "policy/signals.h"

namespace balloond::policy {

namespace {

// The allocation of one VM when the common rho is 1 / x (x: memory per share, "cost" units).
// The cost of P pages with A active is A + k * (P - A) for P >= A, and P below; so at cost
// c = S * x the VM holds P = c (c <= A) or A + (c - A) / k.
double allocationAt(const ShareClaim& c, double x, double k) {
  const double cost = c.shares * x;
  const double p = cost <= c.active_kib ? cost : c.active_kib + (cost - c.active_kib) / k;
  return std::clamp(p, c.lo_kib, c.hi_kib);
}

}  // namespace

std::vector<double> shareAllocation(const std::vector<ShareClaim>& claims, double memory_kib,
                                    double tax_rate) {
  const double k = 1 / (1 - tax_rate);
  auto total = [&](double x) {
    double sum = 0;
    for (const auto& c : claims) {
      sum += allocationAt(c, x, k);
    }
    return sum;
  };
  // The total grows with x; find where it meets memory_kib, starting from the even split and
  // stopping when the total is within about 1 KiB per VM.
  double shares = 0;
  for (const auto& c : claims) {
    shares += c.shares;
  }
  double lo = 0;
  double hi = shares > 0 ? std::max(1.0, memory_kib / shares) : 1;
  while (total(hi) < memory_kib && hi < 1e30) {
    lo = hi;
    hi *= 2;
  }
  // The total is piecewise linear in x: regula falsi (Illinois) lands in a few passes where
  // bisection took 30-40 over every VM. Always bracketed: total(lo) < memory_kib <= total(hi);
  // done when the bracket is as narrow as bisection made it (about 1 KiB per VM), or total(lo)
  // is within a quarter KiB of memory_kib either way (every VM's share rounds to the exact KiB).
  const auto tolerance = static_cast<double>(claims.size());
  constexpr double kCloseKib = 0.25;
  double f_lo = total(lo) - memory_kib;  // the true value at the low end
  double w_lo = f_lo;  // the weights the next guess uses: halved when the same end moves twice
  double w_hi = total(hi) - memory_kib;
  int side = 0;  // -1: lo moved last, 1: hi moved last
  for (int i = 0; i < 64 && (hi - lo) * shares > tolerance && f_lo < -kCloseKib; ++i) {
    double mid = w_hi > w_lo ? lo - w_lo * (hi - lo) / (w_hi - w_lo) : (lo + hi) / 2;
    if (!(mid > lo && mid < hi)) {
      mid = (lo + hi) / 2;
    }
    const double f_mid = total(mid) - memory_kib;
    if (std::abs(f_mid) <= kCloseKib) {  // on the spot (a linear stretch is hit exactly)
      lo = mid;
      break;
    }
    if (f_mid < 0) {
      lo = mid;
      f_lo = w_lo = f_mid;
      if (side == -1) {
        w_hi /= 2;
      }
      side = -1;
    } else {
      hi = mid;
      w_hi = f_mid;
      if (side == 1) {
        w_lo /= 2;
      }
      side = 1;
    }
  }
  std::vector<double> out;
  out.reserve(claims.size());
  for (const auto& c : claims) {
    out.push_back(allocationAt(c, lo, k));
  }
  return out;
}

std::vector<Decision> SharePolicy::decide(const PolicyInput& input, PolicyState& state) {
  std::vector<ShareClaim> claims;
  std::vector<const VmView*> managed;
  int64_t managed_actual = 0;
  std::vector<Decision> out;
  claims.reserve(input.vms.size());
  managed.reserve(input.vms.size());
  for (std::size_t i = 0; i < input.vms.size(); ++i) {
    const VmView& vm = input.vms[i];
    const VmSample& s = *vm.sample;
    if (vm.limits.excluded || vm.ack == AckState::kExcluded || vm.ack == AckState::kNoDriver) {
      continue;
    }
    VmPolicyState& h = historyOf(vm, state);
    observeCounters(h, s);
    const auto actual = static_cast<double>(s.actual_kib);
    double active = 1;  // no stats: fully active (nothing is taken on a guess)
    if (vm.stats_fresh && availableKib(s) && actual > 0) {
      const bool pressured = refaultKibPerS(h) > p_.pressure_kib_s;
      active = pressured ? 1.0 : static_cast<double>(usedKib(s)) / actual;
    }
    ActiveFraction& a = active_.of(i, s.name);
    if (a.fast < 0) {
      a.fast = a.slow = active;
    }
    a.fast += p_.fast_alpha * (active - a.fast);
    a.slow += p_.slow_alpha * (active - a.slow);
    const double f = std::max(a.fast, a.slow);
    // A guest that is not following requests keeps what it has: its memory is not counted on.
    const double lo = canShrink(vm.ack) && vm.stats_fresh
                          ? static_cast<double>(vm.limits.floor_kib)
                          : std::max(actual, static_cast<double>(vm.limits.floor_kib));
    const double hi = std::max(lo, static_cast<double>(vm.limits.ceiling_kib));
    claims.push_back({vm.limits.shares, f * actual, lo, hi});
    managed.push_back(&vm);
    managed_actual = satAdd(managed_actual, s.actual_kib);
  }
  active_.forgetGone(input, managed.size());  // each managed VM has its fraction now
  const auto& host = input.host;
  const double keep_free = std::max(static_cast<double>(input.host_reserve_kib),
                                    p_.host_free_target * static_cast<double>(host.total_kib));
  const double memory = static_cast<double>(satAdd(managed_actual, host.available_kib)) - keep_free;
  const auto alloc = shareAllocation(claims, memory, p_.tax_rate);
  out.reserve(managed.size());
  for (size_t i = 0; i < managed.size(); ++i) {
    const VmSample& s = *managed[i]->sample;
    const auto target = std::llround(alloc[i]);
    const char* reason = target < s.actual_kib   ? "share-reclaim"
                         : target > s.actual_kib ? "share-grant"
                                                 : "share-balanced";
    out.push_back({s.name, target, reason});
  }
  return out;
}

nlohmann::json SharePolicy::saveMemory() const {
  nlohmann::json vms = nlohmann::json::object();
  for (const auto& [name, a] : active_.all()) {
    vms[name] = {{"active_fast", a.fast}, {"active_slow", a.slow}};
  }
  return {{"vms", std::move(vms)}};
}

Status SharePolicy::loadMemory(const nlohmann::json& memory) {
  std::unordered_map<std::string, ActiveFraction> loaded;
  MemoryReader r(memory, "memory");
  r.each("vms", [&](const std::string& name, MemoryReader& vm) {
    ActiveFraction& a = loaded[name];
    vm.number("active_fast", a.fast, -1, 1);
    vm.number("active_slow", a.slow, -1, 1);
  });
  auto status = r.status();
  active_.replace(status ? std::move(loaded) : decltype(loaded){});
  return status;
}

BALLOOND_REGISTER_POLICY(
    share,
    (PolicyEntry{
        .name = "share",
        .summary = "proportional shares with an idle memory tax (VMware ESX)",
        .params =
            {
                {"tax_rate", 0.75, 0, 0.99,
                 "idle memory tax tau: an idle page costs 1/(1-tau) active ones (0 = plain "
                 "shares)"},
                {"fast_alpha", 0.5, 0.01, 1,
                 "weight of a new sample in the fast moving average of the active fraction"},
                {"slow_alpha", 0.05, 0.001, 1,
                 "weight of a new sample in the slow moving average of the active fraction"},
                {"host_free_target", 0.06, 0, 0.5,
                 "host memory kept free (at least the guards' reserve), as a fraction of total"},
                {"pressure_kib_s", 256, 0, 1e9,
                 "guest refault rate (KiB/s, major faults and swap-in) above which it counts "
                 "as fully active"},
            },
        .make = [](const ParamValues& p) -> std::unique_ptr<Policy> {
          return std::make_unique<SharePolicy>(SharePolicy::Params{
              .tax_rate = p.at("tax_rate"),
              .fast_alpha = p.at("fast_alpha"),
              .slow_alpha = p.at("slow_alpha"),
              .host_free_target = p.at("host_free_target"),
              .pressure_kib_s = p.at("pressure_kib_s"),
          });
        },
    }));

}  // namespace balloond::policy
