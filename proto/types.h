// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace balloond {

constexpr int64_t kKibPerMib = 1024;
constexpr int64_t mibToKib(double mib) {
  return static_cast<int64_t>(mib * kKibPerMib);
}
constexpr double kibToMib(int64_t kib) {
  return static_cast<double>(kib) / kKibPerMib;
}

// What a guest's balloon driver last reported. Untrusted: any field may be missing or absurd.
// Sizes in KiB; counters are cumulative since the guest booted.
struct GuestStats {
  std::optional<int64_t> available_kib;    // MemAvailable as the guest sees it
  std::optional<int64_t> unused_kib;       // MemFree
  std::optional<int64_t> usable_kib;       // what the guest could use without swapping
  std::optional<int64_t> disk_caches_kib;  // page cache
  std::optional<int64_t> swap_in_kib;      // counter
  std::optional<int64_t> swap_out_kib;     // counter
  std::optional<int64_t> major_faults;     // counter
  std::optional<int64_t> minor_faults;     // counter
  std::optional<int64_t> total_kib;        // MemTotal as the guest sees it
  double last_update_s = 0;                // host time of the last report; 0 = never
};

// One VM as a channel saw it at one instant.
struct VmSample {
  std::string name;
  int64_t max_kib = 0;             // the most memory the VM can have (boot size)
  int64_t actual_kib = 0;          // balloon actual: what the guest has now
  std::optional<int64_t> rss_kib;  // host-side resident size, where the channel can see it
  bool has_balloon = true;         // false: no balloon device at all
  bool running = true;
  double stats_period_s = 1;  // how often the guest is asked to report; 0 = off
  GuestStats guest;
  int64_t min_guarantee_kib = 0;  // the hypervisor's floor hint (libvirt <min_guarantee>); 0 = none
  std::string exclude_reason;     // set by the channel: do not manage this VM, and say why
                                  // ("vfio-passthrough", "migrating")
  std::string note;           // set by the channel: a condition operators should see ("stats-off",
                              // "no-balloon-device"); the view shows it
  std::string unread_reason;  // set by the channel: it could not read the VM this tick, and why;
                              // the numbers are its last reading, and the VM is judged stale
};

// The host's own memory, read by a host probe.
struct HostSample {
  int64_t total_kib = 0;
  int64_t available_kib = 0;             // MemAvailable
  std::optional<int64_t> free_kib;       // MemFree + Buffers + Cached (MOM's "mem_free")
  std::optional<double> psi_some_avg10;  // /proc/pressure/memory "some avg10", percent
};

// Everything the policy sees for one tick: an immutable, timestamped value.
struct Snapshot {
  double time_s = 0;  // channel clock, seconds (virtual on the simulated host)
  HostSample host;
  std::vector<VmSample> vms;
};

// What every policy and the guards remember about one VM between ticks. Owned by the controller
// (as policy::VmPolicyState), dumped with the snapshot so an offline evaluation sees the same
// history. A policy's own memory (MOM's windows, `share`'s averages) is not here: it is the
// policy's, carried as an opaque PolicyMemory.
struct VmHistory {
  int64_t last_target_kib = 0;  // last target the guards let through
  double last_grow_s = -1e9;    // when the VM was last given memory
  double last_shrink_s = -1e9;  // when the VM was last asked to shrink
  std::string last_reason;      // why its target last changed

  // Guest counters at the last fresh report, and the rates between the last two reports (read by
  // every policy that watches guest pressure).
  double counters_s = 0;  // that report's last_update_s; 0 = none seen yet
  int64_t major_faults = 0;
  int64_t swap_in_kib = 0;
  double major_faults_per_s = 0;
  double swap_in_kib_per_s = 0;

  friend bool operator==(const VmHistory&, const VmHistory&) = default;
};

// All VMs' histories.
struct PolicyHistory {
  std::unordered_map<std::string, VmHistory> vms;  // hashed: looked up per VM per tick

  friend bool operator==(const PolicyHistory&, const PolicyHistory&) = default;
};

// One policy's own memory as everyone else carries it: the name of the policy that wrote it and a
// JSON value only that policy reads (the dump, the state file, a reload to the same policy).
// NOLINTNEXTLINE(bugprone-exception-escape): nlohmann::json moves are noexcept
struct PolicyMemory {
  std::string policy;     // its registered name; empty: no memory
  nlohmann::json memory;  // opaque outside the policy

  friend bool operator==(const PolicyMemory&, const PolicyMemory&) = default;
};

// What the controller holds for one VM beyond the channel's reading.
struct VmControl {
  int64_t target_kib = 0;  // the target in force
  std::string state;       // its acknowledgement state, as policy::toString spells it

  friend bool operator==(const VmControl&, const VmControl&) = default;
};

// A snapshot plus the controller's memory: what `balloond --evaluate` reads and SIGUSR1 writes.
// A plain Snapshot is a valid StateDump with no control records, empty history and no policy
// memory.
// NOLINTNEXTLINE(bugprone-exception-escape): nlohmann::json moves are noexcept
struct StateDump {
  Snapshot snapshot;
  std::map<std::string, VmControl> control;  // by VM name; missing: target = actual
  PolicyHistory history;
  PolicyMemory policy_memory;
};

}  // namespace balloond
