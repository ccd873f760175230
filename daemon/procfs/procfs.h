// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "proto/result.h"
#include "proto/types.h"

namespace balloond::procfs {

// The host's side of the numbers, from /proc, for channels on the host itself: the QMP channel
// (which has no libvirt to ask) and the libvirt channel on a local URI (one file read instead of
// two RPCs, and MemAvailable instead of libvirt's free + buffers + cached). `proc` is the procfs
// root ("/proc"; tests pass a folder of their own).

// The host's memory: /proc/meminfo (MemTotal, MemAvailable, MemFree + Buffers + Cached) and the
// memory pressure of /proc/pressure/memory when the kernel has it.
Result<HostSample> readHostMemory(const std::string& proc = "/proc");

// A process's resident size (VmRSS of /proc/PID/status), if it exists.
std::optional<int64_t> processRssKib(pid_t pid, const std::string& proc = "/proc");

// Parsers of those files' text. Pure.
Result<HostSample> parseMeminfo(std::string_view text);
std::optional<double> parsePressureSomeAvg10(std::string_view text);
std::optional<int64_t> parseStatusRssKib(std::string_view text);

}  // namespace balloond::procfs
