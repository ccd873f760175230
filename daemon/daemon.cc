// SPDX-License-Identifier: Apache-2.0
#include "daemon/daemon.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "config/loader.h"
#include "daemon/compile.h"
#include "daemon/libvirt/channel.h"
#include "daemon/qmp/channel.h"
#include "daemon/sim/channel.h"
#include "daemon/vm_table.h"
#include "proto/codec.h"

#ifndef BALLOOND_VERSION
#define BALLOOND_VERSION "unknown"
#endif

namespace balloond {

namespace {

// The process's channels: libvirt through the real API (or the one the options name), QMP on the
// daemon's loop, or the simulated host, which the daemon keeps to advance its clock.
class DaemonChannels : public ChannelOpener {
 public:
  DaemonChannels(boost::asio::io_context& io, std::unique_ptr<sim::SimHost>& sim,
                 const DaemonOptions& options)
      : io_(io), sim_(sim), options_(options) {}

  Result<std::unique_ptr<Channel>> openSim(const config::SimHostSpec& spec) override {
    sim_ = std::make_unique<sim::SimHost>(spec);
    return std::unique_ptr<Channel>(std::make_unique<SimChannel>(*sim_));
  }
  Result<std::unique_ptr<Channel>> openLibvirt(const config::LibvirtSpec& spec) override {
    if (options_.virtual_clock) {
      return Error{"--virtual-clock needs the simulated host (channel type sim)"};
    }
    auto api = options_.libvirt_api ? options_.libvirt_api() : libvirt::makeRealApi();
    return std::unique_ptr<Channel>(std::make_unique<LibvirtChannel>(std::move(api), spec));
  }
  Result<std::unique_ptr<Channel>> openQmp(const config::QmpSpec& spec) override {
    if (options_.virtual_clock) {
      return Error{"--virtual-clock needs the simulated host (channel type sim)"};
    }
    return std::unique_ptr<Channel>(std::make_unique<QmpChannel>(io_, spec));
  }

 private:
  boost::asio::io_context& io_;
  std::unique_ptr<sim::SimHost>& sim_;
  const DaemonOptions& options_;
};

double secondsBetween(std::chrono::steady_clock::time_point a,
                      std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

}  // namespace

Daemon::Daemon(config::Config config, DaemonOptions options)
    : timer_(io_),
      signals_(io_, SIGINT, SIGTERM, SIGHUP),
      config_(std::move(config)),
      options_(std::move(options)) {
  signals_.add(SIGUSR1);
  // libvirt's client writes to its socket with write(): when libvirtd dies mid-call, that write
  // raises SIGPIPE, whose default action killed balloond without a word. Ignored, the write
  // fails with EPIPE, the call fails, and the channel reconnects. (asio sends with
  // MSG_NOSIGNAL; this covers every other writer in the process.)
  std::signal(SIGPIPE, SIG_IGN);
}

Result<std::unique_ptr<Daemon>> Daemon::create(config::Config config, DaemonOptions options) {
  return create(std::move(config), std::move(options), makeSystemdNotifier());
}

Result<std::unique_ptr<Daemon>> Daemon::create(config::Config config, DaemonOptions options,
                                               std::unique_ptr<Notifier> notifier) {
  std::unique_ptr<Daemon> d(new Daemon(std::move(config), std::move(options)));
  d->notifier_ = std::move(notifier);
  DaemonChannels channels(d->io_, d->sim_, d->options_);
  auto compiled = compile(d->config_, &channels);
  if (!compiled) {
    return compiled.error();
  }
  d->channel_ = std::move(compiled->channel);
  d->controller_ = std::make_unique<Controller>(*d->channel_, std::move(compiled->policy),
                                                std::move(compiled->settings));
  if (!compiled->state_dir.empty()) {
    d->state_store_ = std::make_unique<StateStore>(compiled->state_dir);
    if (auto loaded = d->state_store_->load(); loaded.state) {
      d->controller_->restoreState(*loaded.state);
    }
  }
  auto admin = AdminSurface::open(d->io_, *d, d->config_);
  if (!admin) {
    return admin.error();
  }
  d->admin_ = std::move(*admin);
  return d;
}

int Daemon::run() {
  started_ = last_advance_ = std::chrono::steady_clock::now();
  spdlog::info("daemon-start channel={} policy={} tick_s={} clock={}", channel_->name(),
               config_.policy.name, config_.tick_s, options_.virtual_clock ? "virtual" : "real");
  watchdog_ = notifier_->watchdogInterval();  // fixed for the process (WATCHDOG_USEC)
  if (watchdog_) {
    const double watchdog_s = std::chrono::duration<double>(*watchdog_).count();
    spdlog::info("watchdog interval_s={:g}", watchdog_s);
    if (2 * config_.tick_s > watchdog_s) {
      spdlog::warn(
          "watchdog-too-short interval_s={:g} tick_s={:g}: the watchdog is petted once a "
          "tick, so WatchdogSec= should be at least twice tick_s",
          watchdog_s, config_.tick_s);
    }
  }
  waitForSignals();
  onTick();
  io_.run();
  saveState(true);
  printSummary();
  spdlog::info("daemon-stop ticks={} pushes={}", ticks_, pushes_);
  return 0;
}

void Daemon::waitForSignals() {
  signals_.async_wait([this](const boost::system::error_code& ec, int signo) {
    if (ec) {
      return;
    }
    if (signo == SIGHUP) {
      (void)reload("", true, nullptr);
      waitForSignals();
      return;
    }
    if (signo == SIGUSR1) {
      dumpState();
      waitForSignals();
      return;
    }
    stop(signo == SIGINT ? "SIGINT" : "SIGTERM");
  });
}

void Daemon::scheduleTick() {
  if (stopping_) {
    return;
  }
  if (options_.virtual_clock) {
    boost::asio::post(io_, [this] { onTick(); });
    return;
  }
  timer_.expires_at(
      started_ + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                     std::chrono::duration<double>(config_.tick_s * static_cast<double>(ticks_))));
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) {
      onTick();
    }
  });
}

void Daemon::onTick() {
  if (stopping_) {
    return;
  }
  const auto now = std::chrono::steady_clock::now();
  if (sim_) {
    sim_->advance(options_.virtual_clock ? (ticks_ == 0 ? 0.0 : config_.tick_s)
                                         : secondsBetween(last_advance_, now));
  }
  last_advance_ = now;
  const auto scheduled =
      started_ + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                     std::chrono::duration<double>(config_.tick_s * static_cast<double>(ticks_)));
  const TickReport report = controller_->tick();
  observeTick(now, scheduled, report);
  if (!report.error) {
    saveState(false);
  }
  ++ticks_;
  pushes_ += static_cast<int64_t>(report.changes.size());
  notifyTick(report);
  if (!first_host_available_kib_ && !report.error) {
    first_host_available_kib_ = controller_->lastSnapshot().host.available_kib;
    for (const auto& vm : controller_->status()) {
      first_balloons_kib_ += vm.max_kib - vm.actual_kib;
    }
  }
  if (options_.view) {
    if (isatty(STDOUT_FILENO) != 0) {
      std::fputs("\033[H\033[2J", stdout);  // a terminal: redraw in place
    }
    std::fputs(renderVmTable(controller_->lastSnapshot(), controller_->status()).c_str(), stdout);
    std::fputs("\n", stdout);
    std::fflush(stdout);
  }
  const double elapsed = options_.virtual_clock ? sim_->now() : secondsBetween(started_, now);
  if (options_.duration_s && elapsed + 1e-9 >= *options_.duration_s) {
    stop("duration");
    return;
  }
  scheduleTick();
}

Status Daemon::reload(const std::string& path, bool apply, const config::FileCheck& check) {
  const std::string file = path.empty() ? options_.config_path : path;
  if (apply) {
    // Done, whether the new config was taken or the old one kept: READY=1 again (once ready).
    notifier_->send(fmt::format("RELOADING=1\nMONOTONIC_USEC={}", monotonicUsec()));
  }
  class ReloadDone {
   public:
    ReloadDone(Daemon& daemon, bool apply) : daemon_(daemon), apply_(apply) {}
    ReloadDone(const ReloadDone&) = delete;
    ReloadDone& operator=(const ReloadDone&) = delete;
    ReloadDone(ReloadDone&&) = delete;
    ReloadDone& operator=(ReloadDone&&) = delete;
    ~ReloadDone() {
      if (apply_ && daemon_.ready_sent_) {
        daemon_.notifier_->send("READY=1");
      }
    }

   private:
    Daemon& daemon_;
    bool apply_;
  } done(*this, apply);
  spdlog::info("{} path={}", apply ? "config-reload" : "config-test", file);
  auto failed = [&](const std::string& message) -> Status {
    spdlog::error("{} error=\"{}\"{}", apply ? "config-reload-failed" : "config-test-failed",
                  message, apply ? " keeping=old" : "");
    return Error{message};
  };
  auto config = config::loadConfigFile(file, check);
  if (!config) {
    return failed(config.error().message);
  }
  auto compiled = compile(*config);
  if (!compiled) {
    return failed(compiled.error().message);
  }
  if (!apply) {
    return Ok{};
  }
  // What only a restart applies: the running values stay, and the log names what changed.
  std::vector<std::string> needs_restart;
  auto keepRunning = [&needs_restart](auto& loaded, const auto& running, const char* key) {
    if (loaded != running) {
      needs_restart.emplace_back(key);
      loaded = running;
    }
  };
  keepRunning(config->channel, config_.channel, "channel");
  keepRunning(config->tick_s, config_.tick_s, "tick_s");
  keepRunning(config->state_dir, config_.state_dir, "state_dir");
  keepRunning(config->control, config_.control, "control");
  keepRunning(config->metrics, config_.metrics, "metrics");
  if (!needs_restart.empty()) {
    spdlog::warn("config-reload-partial restart_needed={} (the other changes are applied)",
                 fmt::join(needs_restart, ","));
  }
  controller_->reconfigure(std::move(compiled->policy), std::move(compiled->settings));
  config_ = std::move(*config);
  spdlog::info("config-reloaded policy={}", config_.policy.name);
  return Ok{};
}

std::string defaultDumpPath() {
  return access("/run/balloond", W_OK) == 0 ? "/run/balloond/snapshot.json"
                                            : "balloond-snapshot.json";
}

void Daemon::dumpState() {
  const std::string path = options_.dump_path.empty() ? defaultDumpPath() : options_.dump_path;
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << toJson(controller_->dumpState())
               .dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
        << "\n";
    if (!out.flush()) {
      spdlog::error("snapshot-dump-failed path={} error=\"cannot write\"", tmp);
      return;
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    spdlog::error("snapshot-dump-failed path={} error=\"cannot rename\"", path);
    return;
  }
  spdlog::info("snapshot-dumped path={} vms={}", path, controller_->lastSnapshot().vms.size());
}

void Daemon::saveState(bool force) {
  if (!state_store_) {
    return;  // the simulated host without a state_dir: nothing is kept
  }
  PersistedState state = controller_->persistedState();
  // Compared as values, not as JSON text: building and dumping the JSON every tick cost more
  // than the rest of the daemon's own work on an idle host (bench/idle_guests.sh). The clock
  // moves every tick, and so do the policy's averages: alone they are no change, and they are
  // saved along with the rest.
  if (!force && saved_state_ && state.paused == saved_state_->paused &&
      state.vms == saved_state_->vms) {
    return;
  }
  auto saved = state_store_->save(state);
  if (!saved) {
    if (saved.error().message != state_error_) {
      spdlog::error("state-save-failed path={} error=\"{}\"", state_store_->path(),
                    saved.error().message);
      state_error_ = saved.error().message;
    }
    return;
  }
  if (!state_error_.empty()) {
    spdlog::info("state-save-recovered path={}", state_store_->path());
    state_error_.clear();
  }
  saved_state_ = std::move(state);
}

void Daemon::stop(const char* why) {
  if (stopping_) {
    return;
  }
  stopping_ = true;
  spdlog::info("daemon-stopping reason={}", why);
  notifier_->send("STOPPING=1");
  if (config_.on_exit == "restore") {
    // Before the loop ends. A channel that never answered has no VMs in the last snapshot, so
    // nothing is pushed then; libvirt's pushes are queued on its worker, which the channel's
    // destructor lets finish (for a bounded time) when the daemon goes.
    const int moved = controller_->restoreAll("on-exit-restore");
    spdlog::info("on-exit-restore vms={}", moved);
  }
  timer_.cancel();
  signals_.cancel();
  if (admin_) {
    admin_->close();
  }
  io_.stop();
}

void Daemon::notifyTick(const TickReport& report) {
  std::string status;
  if (report.error) {
    status = "cannot read the hypervisor: " + *report.error;
    std::replace(status.begin(), status.end(), '\n', ' ');
  } else {
    int managed = 0;
    int stuck = 0;
    int uncooperative = 0;
    int no_driver = 0;
    int64_t reclaimed_kib = 0;
    for (const auto& vm : controller_->status()) {
      reclaimed_kib += vm.max_kib - vm.actual_kib;
      switch (vm.state) {
        case policy::AckState::kExcluded: continue;
        case policy::AckState::kNoDriver: ++no_driver; continue;
        case policy::AckState::kStuck: ++stuck; break;
        case policy::AckState::kUncooperative: ++uncooperative; break;
        default: break;
      }
      ++managed;
    }
    status = fmt::format(
        "{} VMs managed, {} MiB reclaimed, problems: {} stuck, {} uncooperative, {} no-driver{}",
        managed, reclaimed_kib / kKibPerMib, stuck, uncooperative, no_driver,
        controller_->paused() ? " (paused)" : "");
  }
  if (!ready_sent_ && !report.error) {
    ready_sent_ = true;
    notifier_->send("STATUS=" + status + "\nREADY=1");
    last_status_ = status;
  } else if (status != last_status_) {
    notifier_->send("STATUS=" + status);
    last_status_ = status;
  }
  if (watchdog_) {
    // Every tick, even one that could not read the hypervisor: the loop itself is alive, and a
    // libvirtd outage is the reconnect logic's business, not a reason to restart.
    notifier_->send("WATCHDOG=1");
  }
}

void Daemon::printSummary() const {
  if (!options_.view || !sim_) {
    return;
  }
  const Snapshot& snap = controller_->lastSnapshot();
  int64_t balloons_kib = 0;
  for (const auto& vm : controller_->status()) {
    balloons_kib += vm.max_kib - vm.actual_kib;
  }
  const int64_t first = first_host_available_kib_.value_or(snap.host.available_kib);
  std::string out = fmt::format(
      "summary: {:.0f} s, {} ticks, {} targets pushed\n"
      "  reclaimed: balloons hold {} MiB ({} MiB at the first tick)\n"
      "  host available: {} MiB at the first tick, {} MiB now\n"
      "  OOM kills: {}; swapped out: {:.0f} MiB\n",
      sim_->now(), ticks_, pushes_, balloons_kib / kKibPerMib, first_balloons_kib_ / kKibPerMib,
      first / kKibPerMib, snap.host.available_kib / kKibPerMib, sim_->totalOomKills(),
      sim_->totalSwappedOutMib());
  for (const auto& name : sim_->names()) {
    const auto& c = sim_->guest(name)->counters;
    if (c.oom_kills > 0 || c.swapped_out_mib > 0) {
      out += fmt::format("    {}: OOM kills {}, swapped out {:.0f} MiB\n", name, c.oom_kills,
                         c.swapped_out_mib);
    }
  }
  std::fputs(out.c_str(), stdout);
}

void Daemon::observeTick(std::chrono::steady_clock::time_point started,
                         std::chrono::steady_clock::time_point scheduled,
                         const TickReport& report) {
  const auto done = std::chrono::steady_clock::now();
  last_tick_duration_s_ = std::chrono::duration<double>(done - started).count();
  max_tick_duration_s_ = std::max(max_tick_duration_s_, last_tick_duration_s_);
  if (!options_.virtual_clock && ticks_ > 0) {
    max_tick_lateness_s_ =
        std::max(max_tick_lateness_s_, std::chrono::duration<double>(started - scheduled).count());
  }
  channel_error_ = report.error;
  admin_->observeTick(last_tick_duration_s_, report, *controller_);
}

control::DaemonInfo Daemon::info() const {
  control::DaemonInfo d;
  d.version = BALLOOND_VERSION;
  d.uptime_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  d.channel = channel_->name();
  d.channel_connected = ticks_ > 0 && !channel_error_;
  d.channel_error = channel_error_;
  d.tick_s = config_.tick_s;
  d.ticks = ticks_;
  d.last_tick_duration_s = last_tick_duration_s_;
  d.max_tick_duration_s = max_tick_duration_s_;
  d.max_tick_lateness_s = max_tick_lateness_s_;
  return d;
}

}  // namespace balloond
