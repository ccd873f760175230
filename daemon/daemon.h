// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "config/spec.h"
#include "daemon/admin/admin_surface.h"
#include "daemon/channel.h"
#include "daemon/controller.h"
#include "daemon/libvirt/api.h"
#include "daemon/notify.h"
#include "daemon/persisted_state.h"
#include "daemon/sim/host.h"
#include "daemon/state/store.h"
#include "proto/result.h"

namespace balloond {

// How main() wants the daemon to run.
struct DaemonOptions {
  std::string config_path;           // re-read on SIGHUP
  bool view = false;                 // print the per-VM table every tick
  std::optional<double> duration_s;  // stop after this long (virtual seconds on a virtual clock)
  bool virtual_clock = false;        // sim only: run ticks back to back, as fast as possible
  std::string dump_path;             // SIGUSR1 writes the state dump here; empty: the default
  // What the libvirt channel calls libvirt through; empty: libvirt.so. Tests pass a fake.
  std::function<std::unique_ptr<libvirt::Api>()> libvirt_api;
};

// Where SIGUSR1 writes the state dump unless told: /run/balloond/snapshot.json when that
// directory is writable, else balloond-snapshot.json in the working directory.
std::string defaultDumpPath();

// The running daemon: one io_context that carries the tick timer, the signals, the control
// socket and the metrics listener. SIGINT and SIGTERM stop it; SIGHUP and config-reload reload
// the config (build, check, swap; keep the old one on failure); SIGUSR1 writes the current
// snapshot, targets and policy history as JSON (proto/README.md).
class Daemon : public DaemonAccess {
 public:
  static Result<std::unique_ptr<Daemon>> create(config::Config config, DaemonOptions options);
  // The same, telling a service manager through `notifier` (sd_notify in production).
  static Result<std::unique_ptr<Daemon>> create(config::Config config, DaemonOptions options,
                                                std::unique_ptr<Notifier> notifier);

  // Runs until stopped; returns the process exit code.
  int run();

  // DaemonAccess, for the control socket's commands.
  Controller& controller() override { return *controller_; }
  const config::Config& config() const override { return config_; }
  control::DaemonInfo info() const override;
  Status reload(const std::string& path, bool apply, const config::FileCheck& check) override;

 private:
  Daemon(config::Config config, DaemonOptions options);

  void waitForSignals();
  void scheduleTick();
  void onTick();
  void dumpState();
  // Writes the state file when the state changed since the last write, or always (`force`).
  void saveState(bool force);
  void stop(const char* why);
  // Records a tick's duration and lateness, for status-get and the metrics.
  void observeTick(std::chrono::steady_clock::time_point started,
                   std::chrono::steady_clock::time_point scheduled, const TickReport& report);
  void printSummary() const;
  // After a tick: READY=1 the first time one succeeds, STATUS= when it changed, WATCHDOG=1.
  void notifyTick(const TickReport& report);

  boost::asio::io_context io_;
  boost::asio::steady_timer timer_;
  boost::asio::signal_set signals_;
  config::Config config_;
  DaemonOptions options_;
  std::unique_ptr<sim::SimHost> sim_;
  std::unique_ptr<Channel> channel_;
  std::unique_ptr<Controller> controller_;
  std::chrono::steady_clock::time_point started_;
  std::chrono::steady_clock::time_point last_advance_;
  int64_t ticks_ = 0;
  int64_t pushes_ = 0;
  std::optional<int64_t> first_host_available_kib_;
  int64_t first_balloons_kib_ = 0;
  bool stopping_ = false;
  // Control socket and metrics; the tick's timing as status-get shows it.
  double last_tick_duration_s_ = 0;
  double max_tick_duration_s_ = 0;
  double max_tick_lateness_s_ = 0;
  std::optional<std::string> channel_error_;
  std::unique_ptr<AdminSurface> admin_;
  // The service manager (systemd/balloond.service is Type=notify).
  std::unique_ptr<Notifier> notifier_;
  std::optional<std::chrono::microseconds> watchdog_;  // read once at start
  bool ready_sent_ = false;
  std::string last_status_;
  // The state file (state_dir/state.json): what was last written, and the last write error
  // (logged once until the writes recover).
  std::unique_ptr<StateStore> state_store_;
  std::optional<PersistedState> saved_state_;
  std::string state_error_;
};

}  // namespace balloond
