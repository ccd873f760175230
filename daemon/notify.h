// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace balloond {

// The service manager's notification channel (sd_notify(3)). The daemon says when it is ready,
// reloading or stopping, keeps a one-line status and pets the watchdog. Tests and non-systemd
// runs use the real one too: without NOTIFY_SOCKET every call is a no-op.
class Notifier {
 public:
  virtual ~Notifier() = default;
  // Sends one or more newline-separated VAR=value assignments.
  virtual void send(const std::string& state) = 0;
  // The watchdog interval the manager asked for, or nothing when there is no watchdog.
  virtual std::optional<std::chrono::microseconds> watchdogInterval() const = 0;
};

// Calls sd_notify(); the watchdog interval comes from sd_watchdog_enabled().
std::unique_ptr<Notifier> makeSystemdNotifier();

// CLOCK_MONOTONIC in microseconds, as RELOADING=1 wants it in MONOTONIC_USEC=.
uint64_t monotonicUsec();

}  // namespace balloond
