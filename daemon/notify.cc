// SPDX-License-Identifier: Apache-2.0
#include "daemon/notify.h"

#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include <ctime>
#include <system_error>

namespace balloond {

namespace {

class SystemdNotifier : public Notifier {
 public:
  void send(const std::string& state) override {
    // unset_environment=0: a restarted child (none today) could still notify.
    const int r = sd_notify(0, state.c_str());
    if (r < 0 && !warned_) {
      warned_ = true;  // once: a broken socket must not flood the log every tick
      spdlog::warn("sd-notify-failed error=\"{}\"", std::generic_category().message(-r));
    }
  }

  std::optional<std::chrono::microseconds> watchdogInterval() const override {
    uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
      return std::chrono::microseconds(usec);
    }
    return std::nullopt;
  }

 private:
  bool warned_ = false;
};

}  // namespace

std::unique_ptr<Notifier> makeSystemdNotifier() {
  return std::make_unique<SystemdNotifier>();
}

uint64_t monotonicUsec() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000U + static_cast<uint64_t>(ts.tv_nsec) / 1000U;
}

}  // namespace balloond
