// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/spec.h"
#include "proto/types.h"

namespace balloond::sim {

// Running totals of what happened inside one simulated guest.
struct GuestCounters {
  int64_t oom_kills = 0;
  double swapped_out_mib = 0;  // cumulative
  double swapped_in_mib = 0;   // cumulative
  double major_faults = 0;     // cumulative
  double minor_faults = 0;     // cumulative
};

// One simulated guest's state, in MiB. Read-only to everyone but SimHost.
struct GuestState {
  bool running = false;
  double actual_mib = 0;  // balloon actual: memory the guest has
  double target_mib = 0;  // what the host last asked for
  double kernel_mib = 0;
  double wanted_anon_mib = 0;    // the workload's working set now
  double anon_resident_mib = 0;  // working set in RAM
  double anon_swapped_mib = 0;   // working set in swap
  double cache_mib = 0;          // page cache held
  double free_mib = 0;
  GuestCounters counters;
};

// The simulated host: guests with workloads and balloon drivers, on a clock that only moves
// when advance() is called. Deterministic: the same spec and calls give the same numbers.
// The sim channel reads and pushes through it; scenario runs and tests drive advance().
class SimHost {
 public:
  explicit SimHost(config::SimHostSpec spec);

  // Moves the simulation forward by dt seconds, in internal steps of at most 0.1 s.
  void advance(double dt_s);
  [[nodiscard]] double now() const { return now_s_; }

  // The host and every running VM as a channel reports them.
  [[nodiscard]] Snapshot snapshot() const;
  // Asks a running guest's driver to move toward target_kib. False if no such running VM.
  bool setTarget(const std::string& vm, int64_t target_kib);

  // Replaces a VM's workload; its phases start over now. False if no such VM.
  bool setWorkload(const std::string& vm, const config::WorkloadSpec& workload);

  // For tests, scenarios and the demo summary.
  [[nodiscard]] const GuestState* guest(const std::string& vm) const;
  [[nodiscard]] std::vector<std::string> names() const;  // every configured VM, running or not
  [[nodiscard]] int64_t hostAvailableKib() const;
  [[nodiscard]] int64_t hostTotalKib() const;
  [[nodiscard]] int64_t totalOomKills() const;
  [[nodiscard]] double totalSwappedOutMib() const;
  // How far the running VMs and the host's own use exceed total memory (0 if they fit).
  [[nodiscard]] double hostShortfallMib() const;

 private:
  using Micros = int64_t;  // the clock counts whole microseconds so event times are exact

  // One configured VM: its spec, its guest, and the times that drive it.
  struct Vm {
    config::SimVmSpec spec;
    GuestState state;
    bool started = false;
    Micros workload_start_us = 0;         // the workload's t = 0
    std::optional<Micros> restart_at_us;  // set while the workload is dead after an OOM kill
    Micros next_report_us = 0;            // when the driver next reports stats
    Micros started_us = 0;                // when the VM started: the driver model's clock
    double claimed_actual_mib = 0;        // what a lying driver reports as its actual
    GuestStats report;                    // what it last reported
  };

  void step(Micros dt_us);                             // one internal step, ending at now + dt
  void stepGuest(Vm& vm, double dt_s, Micros end_us);  // driver, workload, swap, cache, faults
  void lifecycle(Vm& vm);                    // the start, stop, restart and report due at now
  void startWorkload(Vm& vm);                // (re)starts the phases at t = 0 now
  void oomKill(Vm& vm, Micros at_us);        // kills the workload; it restarts after restart_s
  [[nodiscard]] Micros nextEventUs() const;  // the next start, stop, restart or report
  [[nodiscard]] double hostUsedMib() const;  // host overhead plus every running VM and its overhead
  [[nodiscard]] VmSample sample(const Vm& vm) const;  // one running VM as the channel reports it

  config::SimHostSpec spec_;
  std::vector<Vm> vms_;
  std::unordered_map<std::string, std::size_t> by_name_;  // index into vms_ (names are unique)
  Micros now_us_ = 0;
  double now_s_ = 0;
};

}  // namespace balloond::sim
