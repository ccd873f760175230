// SPDX-License-Identifier: Apache-2.0
#include "ctl/render.h"

#include <fmt/format.h>

#include "proto/codec.h"

namespace balloond::ctl {

using control::Response;
using nlohmann::json;

std::string mib(int64_t kib) {
  return std::to_string((kib + 512) / 1024);  // nearest MiB
}

std::string textOf(const Response& r) {
  return r.text + "\n";
}

std::string prettyJson(const Response& r) {
  return r.arguments.dump(2) + "\n";
}

std::string vmTable(const json& vms) {
  std::string out =
      fmt::format("{:<14} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7}  {:<13} {}\n", "VM", "MAX", "TARGET",
                  "ACTUAL", "AVAIL", "FLOOR", "CEIL", "STATE", "REASON");
  for (const auto& j : vms) {
    auto vm = control::vmInfoFromJson(j);
    if (!vm) {
      out += "? " + vm.error().message + "\n";
      continue;
    }
    out += fmt::format("{:<14} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7}  {:<13} {}{}\n", vm->name,
                       mib(vm->max_kib), mib(vm->target_kib), mib(vm->actual_kib),
                       vm->available_kib ? mib(*vm->available_kib) : "-", mib(vm->floor_kib),
                       mib(vm->ceiling_kib), vm->state, vm->reason,
                       vm->runtime_override.empty() ? "" : "  [runtime override]");
  }
  return out;
}

std::string vmListText(const Response& r) {
  return vmTable(r.arguments.value("vms", json::array()));
}

std::string statusText(const json& j) {
  auto d = control::daemonInfoFromJson(j);
  if (!d) {
    return d.error().message + "\n";
  }
  std::string states;
  for (const auto& [state, n] : d->vms_by_state) {
    states += fmt::format("{}{} {}", states.empty() ? "" : ", ", n, state);
  }
  return fmt::format(
      "balloond {}, up {:.0f} s, {}\n"
      "channel:   {} ({}{})\n"
      "ticks:     {} every {:g} s; last {:.3f} ms, max {:.3f} ms, max lateness {:.3f} ms\n"
      "host:      {} MiB total, {} MiB available\n"
      "reclaimed: {} MiB held by balloons\n"
      "VMs:       {}\n",
      d->version, d->uptime_s, d->paused ? "PAUSED" : "running", d->channel,
      d->channel_connected ? "connected" : "not connected",
      d->channel_error ? ": " + *d->channel_error : "", d->ticks, d->tick_s,
      d->last_tick_duration_s * 1e3, d->max_tick_duration_s * 1e3, d->max_tick_lateness_s * 1e3,
      mib(d->host.total_kib), mib(d->host.available_kib), mib(d->reclaimed_kib),
      states.empty() ? "none" : states);
}

std::string statusAnswerText(const Response& r) {
  return statusText(r.arguments);
}

std::string vmText(const Response& r) {
  auto vm = control::vmInfoFromJson(r.arguments);
  if (!vm) {
    return vm.error().message + "\n";
  }
  std::string out = fmt::format(
      "{}: {}{} (reason: {}, since {:.1f} s)\n"
      "  max {} MiB, target {} MiB, actual {} MiB, available {} MiB\n"
      "  floor {} MiB, ceiling {} MiB\n",
      vm->name, vm->state, vm->state_reason.empty() ? "" : " [" + vm->state_reason + "]",
      vm->reason, vm->last_change_s, mib(vm->max_kib), mib(vm->target_kib), mib(vm->actual_kib),
      vm->available_kib ? mib(*vm->available_kib) : "-", mib(vm->floor_kib), mib(vm->ceiling_kib));
  const auto& o = vm->runtime_override;
  if (!o.empty()) {
    out += "  runtime override (until cleared):";
    if (o.pin_kib) out += " pin " + mib(*o.pin_kib) + " MiB";
    if (o.floor_kib) out += " floor " + mib(*o.floor_kib) + " MiB";
    if (o.ceiling_kib) out += " ceiling " + mib(*o.ceiling_kib) + " MiB";
    if (o.excluded) out += *o.excluded ? " excluded" : " included";
    out += "\n";
  }
  if (vm->stats) {
    out += "  guest stats: " + toJson(*vm->stats).dump() + "\n";
  }
  out += fmt::format("  last {} decisions:\n", vm->decisions.size());
  for (const auto& d : vm->decisions) {
    out += fmt::format("    {:>9.1f} s  {:>6} -> {:>6} MiB  {}\n", d.time_s, mib(d.from_kib),
                       mib(d.to_kib), d.reason);
  }
  return out;
}

std::string reclaimText(const Response& r) {
  auto info = control::reclaimInfoFromJson(r.arguments);
  if (!info) {
    return r.text + "\n";
  }
  std::string out =
      fmt::format("reclaim {}: {} ({} of {} MiB freed)\n  {}\n", info->id, info->outcome,
                  mib(info->freed_kib), mib(info->requested_kib), info->text);
  for (const auto& [vm, kib] : info->plan_kib) {
    out += fmt::format("  plan: {:<14} gives {:>6} MiB\n", vm, mib(kib));
  }
  for (const auto& vm : info->refused_by) {
    out += fmt::format("  refused by: {}\n", vm);
  }
  return out;
}

std::string commandsText(const Response& r) {
  std::string out;
  for (const auto& j : r.arguments.value("commands", json::array())) {
    auto c = control::commandInfoFromJson(j);
    if (c) {
      out += fmt::format("{:<16} {:<9} {}\n", c->name, c->mutating ? "mutating" : "read-only",
                         c->help);
    }
  }
  return out;
}

}  // namespace balloond::ctl
