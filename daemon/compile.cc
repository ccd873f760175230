// SPDX-License-Identifier: Apache-2.0
#include "daemon/compile.h"

#include <utility>

#include "policy/registry.h"

namespace balloond {

namespace {

ControllerSettings settingsFromConfig(const config::Config& config) {
  const auto& g = config.guards;
  AckSettings acks;
  acks.min_rate_kib_s = config.acks.min_rate_mib_s * kKibPerMib;
  acks.stuck_after_s = config.acks.stuck_after_s;
  acks.window_s = config.acks.uncooperative_window_s;
  acks.cooperative_after_s = config.acks.cooperative_after_s;
  acks.stale_periods = config.acks.stale_periods;
  acks.no_driver_after_s = config.acks.no_driver_after_s;
  return ControllerSettings{
      .policy_name = config.policy.name,
      .guards =
          policy::Guards{
              .inflate_step_kib = mibToKib(g.inflate_step_mib),
              .inflate_step_fraction = g.inflate_step_fraction,
              .emergency_step_factor = g.emergency_step_factor,
              .deflate_step_kib = mibToKib(g.deflate_step_mib),
              .min_change_kib = mibToKib(g.min_change_mib),
              .need_margin_kib = mibToKib(g.need_margin_mib),
              .grow_holdoff_s = g.grow_holdoff_s,
              .host_reserve_kib = mibToKib(g.host_reserve_mib),
          },
      .acks = acks,
      .default_floor_kib = mibToKib(config.default_floor_mib),
      .overrides = config.vms,
  };
}

}  // namespace

Result<Compiled> compile(const config::Config& config, ChannelOpener* opener) {
  Compiled out;
  auto policy = policy::Registry::instance().create(config.policy.name, config.policy.params);
  if (!policy) {
    return Error{config.source + ": policy: " + policy.error().message};
  }
  out.policy = std::move(*policy);
  out.settings = settingsFromConfig(config);
  const std::string& type = config.channel.type;
  if (type != "sim" && type != "libvirt" && type != "qmp") {
    return Error{"channel '" + type + "' is not available in this build"};
  }
  // A real hypervisor's VMs outlive the daemon: their overrides and flags are kept by default.
  out.state_dir = config.state_dir.value_or(type == "sim" ? "" : config::kDefaultStateDir);
  if (opener != nullptr) {
    auto channel = type == "libvirt" ? opener->openLibvirt(config.channel.libvirt)
                   : type == "qmp"   ? opener->openQmp(config.channel.qmp)
                                     : opener->openSim(config.channel.sim);
    if (!channel) {
      return channel.error();
    }
    out.channel = std::move(*channel);
  }
  return out;
}

}  // namespace balloond
