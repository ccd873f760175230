// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace balloond::config {

// One phase of a simulated workload's anonymous working set. Sizes in MiB, times in seconds.
struct PhaseSpec {
  enum class Kind { kConstant, kRamp, kSpike, kPeriodic };
  Kind kind = Kind::kConstant;
  double duration_s = 0;  // 0 = forever (only the last phase may say so)
  double mib = 0;         // constant: the level; spike: the base level
  double from_mib = 0;    // ramp
  double to_mib = 0;      // ramp
  double peak_mib = 0;    // spike: the level during the spike
  double at_s = 0;        // spike: when it starts, from the phase start
  double length_s = 0;    // spike: how long it lasts
  double low_mib = 0;     // periodic
  double high_mib = 0;    // periodic
  double period_s = 0;    // periodic: one full low->high->low cycle

  friend bool operator==(const PhaseSpec&, const PhaseSpec&) = default;
};

// A simulated guest workload: kernel, anonymous working set over time, and page cache.
struct WorkloadSpec {
  double kernel_mib = 96;  // the guest kernel's own, never reclaimable
  double cache_mib = 256;  // file working set: page cache it would like to hold
  bool repeat = false;     // start over after the last phase
  double restart_s = 10;   // after an OOM kill, the workload restarts after this long
  std::vector<PhaseSpec> phases;

  friend bool operator==(const WorkloadSpec&, const WorkloadSpec&) = default;
};

// A simulated balloon driver. `model` picks a behaviour; the parameters it does not use are
// ignored.
struct DriverSpec {
  std::string model = "ideal";       // ideal | slow | stuck | intermittent | hidden-floor |
                                     // hidden-ceiling | no-driver | stale-stats | lying
  double rate_mib_s = 512;           // inflate rate with free memory to take
  double deflate_rate_mib_s = 1536;  // deflate rate
  double pressure_rate_mib_s = 8;    // inflate rate when the guest must reclaim or swap
  double stats_period_s = 1;         // how often the guest reports stats; 0 = never
  double short_kib = 0;              // ideal: stops this far short of each target
  double limit_mib = 0;              // hidden-floor / hidden-ceiling: the size it cannot pass
  double work_s = 10;                // intermittent: works this long ...
  double stall_s = 5;                // ... then stalls this long, over and over
  double from_s = 0;                 // stuck: stops moving this long after the VM starts
  double freeze_at_s = 0;            // stale-stats: stops reporting this long after start

  friend bool operator==(const DriverSpec&, const DriverSpec&) = default;
};

// One VM on the simulated host.
struct SimVmSpec {
  std::string name;
  double max_mib = 0;
  std::optional<double> actual_mib;  // start size; default max_mib
  double swap_mib = 0;               // guest swap space; 0 = no swap: OOM instead
  double start_s = 0;                // when it starts (0 = at the beginning)
  std::optional<double> stop_s;      // when it stops, if ever
  WorkloadSpec workload;
  DriverSpec driver;

  friend bool operator==(const SimVmSpec&, const SimVmSpec&) = default;
};

// The simulated host: total memory, what the host itself uses, and the VMs on it.
struct SimHostSpec {
  double total_mib = 0;
  double overhead_mib = 512;        // host OS and daemons
  double per_vm_overhead_mib = 32;  // QEMU process overhead per running VM
  std::vector<SimVmSpec> vms;

  friend bool operator==(const SimHostSpec&, const SimHostSpec&) = default;
};

// The libvirt channel: where to connect, and how to treat the guests' stats periods.
struct LibvirtSpec {
  std::string uri = "qemu:///system";
  bool set_stats_period = true;  // turn the stats period on for VMs that have it off
  double stats_period_s = 2;     // the period turned on, whole seconds
  double reconnect_max_s = 30;   // the reconnect backoff doubles from 1 s up to this

  friend bool operator==(const LibvirtSpec&, const LibvirtSpec&) = default;
};

// One set of QEMU QMP sockets: a glob and how balloond may use the sockets it matches.
struct QmpSocketSpec {
  std::string glob;                // absolute, e.g. /var/run/qemu-server/*.qmp
  std::string mode = "shared";     // shared: a short session per tick, the socket left free between
                                   // them; exclusive: one persistent connection, events heard
  std::string name_from = "qemu";  // qemu: query-name, else the file name without its extension;
                                   // socket: always the file name without its extension

  friend bool operator==(const QmpSocketSpec&, const QmpSocketSpec&) = default;
};

// The QMP channel: QEMU without libvirt (Proxmox VE, plain QEMU).
struct QmpSpec {
  std::vector<QmpSocketSpec> sockets;
  double deadline_s = 0.5;       // a shared session's budget, an exclusive command's; < tick_s
  bool set_stats_period = true;  // turn the stats polling on for balloons that have it off
  double stats_period_s = 2;     // the period turned on, whole seconds
  double reconnect_max_s = 30;   // exclusive: reconnect backoff doubles from 1 s up to this

  friend bool operator==(const QmpSpec&, const QmpSpec&) = default;
};

// Which hypervisor connection the daemon uses.
struct ChannelSpec {
  std::string type = "sim";  // sim | libvirt | qmp
  SimHostSpec sim;
  LibvirtSpec libvirt;
  QmpSpec qmp;

  friend bool operator==(const ChannelSpec&, const ChannelSpec&) = default;
};

// The chosen policy and its named numeric parameters (validated against the policy's own list).
struct PolicySpec {
  std::string name = "margin";
  std::map<std::string, double> params;

  friend bool operator==(const PolicySpec&, const PolicySpec&) = default;
};

// Limits applied after every policy, in one place.
struct GuardSpec {
  double inflate_step_mib = 128;        // most a VM shrinks in one tick
  double deflate_step_mib = 1024;       // most a VM grows in one tick
  double min_change_mib = 8;            // smaller changes are not pushed (hysteresis)
  double need_margin_mib = 64;          // never shrink below guest used + this
  double grow_holdoff_s = 30;           // no shrinking a VM this long after it was grown
  double host_reserve_mib = 1024;       // growth never takes host available below this
  double inflate_step_fraction = 0.25;  // and shrink at most this fraction of actual per tick
  double emergency_step_factor = 4;     // host available under the reserve: steps this much larger

  friend bool operator==(const GuardSpec&, const GuardSpec&) = default;
};

// How acknowledgements are judged: what counts as progress, when a guest is stuck.
struct AckSpec {
  double min_rate_mib_s = 1;           // slower progress toward a target is no progress
  double stuck_after_s = 5;            // no progress this long: stuck, target retracted
  double uncooperative_window_s = 60;  // stalled over half of this window: uncooperative
  double cooperative_after_s = 60;     // flagged until progress without a stall this long
  double stale_periods = 3;            // stats older than this many periods: stale
  double no_driver_after_s = 30;       // never reported nor moved this long: no driver

  friend bool operator==(const AckSpec&, const AckSpec&) = default;
};

// Per-VM settings, by exact name or glob; later entries override earlier ones.
struct VmOverrideSpec {
  std::string match;
  std::optional<double> floor_mib;
  std::optional<double> ceiling_mib;
  std::optional<bool> excluded;
  std::optional<double> shares;  // relative claim on memory (`share`, `host-target`); default 1000

  friend bool operator==(const VmOverrideSpec&, const VmOverrideSpec&) = default;
};

// The control socket (balloonctl's way in).
struct ControlSpec {
  std::string socket = "/run/balloond/control.sock";
  std::string group;           // the socket's group (mode 0660): read-only commands; empty = root's
  std::string admin_group;     // may also run mutating commands; empty = root only
  double idle_timeout_s = 30;  // a connection with no complete request this long is closed

  friend bool operator==(const ControlSpec&, const ControlSpec&) = default;
};

// The Prometheus metrics listener: off unless `listen` is set.
struct MetricsSpec {
  std::string listen;  // "ADDRESS:PORT", e.g. "127.0.0.1:9712"; empty = off

  friend bool operator==(const MetricsSpec&, const MetricsSpec&) = default;
};

inline constexpr const char* kDefaultStateDir = "/var/lib/balloond";

// The whole configuration file as plain values.
struct Config {
  std::string source;  // the file it came from, for messages
  double tick_s = 1;
  double default_floor_mib = 256;  // floor for VMs no override names
  // Where state.json (overrides, flags, history) is kept; read at start only. Unset: the
  // libvirt and qmp channels use kDefaultStateDir, the simulated host keeps no state.
  std::optional<std::string> state_dir;
  ChannelSpec channel;
  PolicySpec policy;
  GuardSpec guards;
  AckSpec acks;
  std::vector<VmOverrideSpec> vms;
  ControlSpec control;
  MetricsSpec metrics;
  // On a clean stop: "keep" leaves every guest at its current size; "restore" gives every
  // managed VM its max back first.
  std::string on_exit = "keep";

  friend bool operator==(const Config&, const Config&) = default;
};

}  // namespace balloond::config
