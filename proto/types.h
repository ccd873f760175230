#pragma once

#include <cstdint>
#include <optional>
#include <string>
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
  std::string note;  // set by the channel: a condition operators should see ("stats-off",
                     // "no-balloon-device", "driver-never-reported"); the view shows it
};

// The host's own memory, read by a host probe.
struct HostSample {
  int64_t total_kib = 0;
  int64_t available_kib = 0;             // MemAvailable
  std::optional<double> psi_some_avg10;  // /proc/pressure/memory "some avg10", percent
};

// Everything the policy sees for one tick: an immutable, timestamped value.
struct Snapshot {
  double time_s = 0;  // channel clock, seconds (virtual on the simulated host)
  HostSample host;
  std::vector<VmSample> vms;
};

}  // namespace balloond
