// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "config/spec.h"
#include "daemon/qmp/connection.h"
#include "proto/types.h"

namespace balloond::qmp {

// What balloond learns once per QEMU process behind a socket.
struct QemuFacts {
  std::optional<pid_t> pid;                 // from the socket's peer credentials
  std::string name;                         // balloond's name for the VM
  int64_t max_kib = 0;                      // query-memory-size-summary
  std::optional<std::string> balloon_path;  // the balloon's QOM path; none: no balloon device
  int64_t stats_period_s = 0;               // guest-stats-polling-interval; 0: off
};

// How a link fared at its last read.
enum class LinkState {
  kProbing,  // never read yet: not a VM balloond knows
  kLive,     // the last read completed
  kUnread,   // the last read failed or ran past the deadline: the numbers are older
  kGone,     // nobody listens on the socket (QEMU stopped, or a stale socket file)
};

// One VM reached over one QMP socket, in the mode its glob asks for:
// - shared: each poll() is one short session (connect, greeting, qmp_capabilities, the reads, the
//   waiting push, disconnect) within the deadline, so QEMU's single QMP client slot is free
//   between ticks; the actual size comes from query-balloon.
// - exclusive: one persistent connection, reopened with backoff when QEMU goes away; BALLOON_CHANGE
//   events update the actual size as the guest moves, and a push is sent at once.
// Facts (name, size, balloon path, stats period) are learned once per QEMU process. Everything
// runs on the io_context; a QEMU that never answers costs only its own link a stale read.
class VmLink {
 public:
  using Clock = std::function<double()>;  // wall-clock seconds: QEMU's last-update is one

  VmLink(boost::asio::io_context& io, std::string path, config::QmpSocketSpec socket,
         const config::QmpSpec& spec, Clock clock);
  ~VmLink();  // NOLINT(bugprone-exception-escape): see vm_link.cc
  VmLink(const VmLink&) = delete;
  VmLink& operator=(const VmLink&) = delete;
  VmLink(VmLink&&) = delete;
  VmLink& operator=(VmLink&&) = delete;

  // Starts this tick's read, unless the last one is still running.
  void poll();
  // Queues a target for the guest: sent in the running session or connection, or a new one
  // (shared). A newer target replaces one not yet sent.
  void push(int64_t target_kib);
  // The socket file was replaced (a new QEMU on the same path): learn the facts again, reconnect
  // now.
  void restarted();

  [[nodiscard]] LinkState state() const { return state_; }
  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] const QemuFacts& facts() const { return facts_; }
  // The latest sample read (rss not filled in: the channel reads it from /proc at each tick).
  [[nodiscard]] const VmSample& sample() const { return sample_; }
  // Why the last read failed, for kUnread and kGone.
  [[nodiscard]] const std::string& problem() const { return problem_; }
  [[nodiscard]] bool busy() const { return running_; }
  [[nodiscard]] int64_t events() const { return events_; }

 private:
  using Conn = std::shared_ptr<Connection>;
  using Reply = Connection::Reply;
  struct Step;

  // `f`, called only while this link lives (connection callbacks and timers can outlive it).
  template <typename F>
  auto guarded(F f);
  // A reply handler for one command of `step`: `use` reads the answer, or says what is wrong
  // with it; any problem fails the session.
  Reply answer(const Conn& c, const std::shared_ptr<Step>& step,
               std::function<std::optional<std::string>(const nlohmann::json&)> use);
  // Whether `key` is logged for the first time for this QEMU.
  bool once(const std::string& key);

  void startSession();
  void onOpen(const Conn& c, const Status& s);
  void learnFacts(const Conn& c, std::function<void()> then);
  void findBalloon(const Conn& c, std::function<void()> then);
  void readStats(const Conn& c, std::function<void()> then);
  void sendPush(const Conn& c, std::function<void()> then);
  void finish(const Conn& c);
  void fail(const Conn& c, const std::string& why, bool gone);
  void onEvent(const Message& m);
  void armDeadline(const Conn& c);
  void scheduleReconnect();
  bool current(const Conn& c) const { return c && c == conn_; }

  boost::asio::io_context& io_;
  std::string path_;
  config::QmpSocketSpec socket_;
  const config::QmpSpec& spec_;
  Clock clock_;
  boost::asio::steady_timer deadline_;
  boost::asio::steady_timer reconnect_;
  Conn conn_;
  bool running_ = false;  // a session (shared) or a read (exclusive) is in progress
  bool facts_known_ = false;
  bool period_tried_ = false;  // the stats period was set (or tried) for this QEMU
  QemuFacts facts_;
  VmSample sample_;
  LinkState state_ = LinkState::kProbing;
  std::string problem_;
  std::optional<int64_t> pending_kib_;  // a target not yet delivered
  int64_t sent_kib_ = 0;                // the last target QEMU accepted
  double backoff_s_ = 1;
  bool reconnect_pending_ = false;
  int64_t events_ = 0;
  int64_t acks_ = 0;
  std::shared_ptr<int> life_;  // expires with the link: see guarded()
  std::string logged_;         // the conditions already logged, so each is logged once per QEMU
};

}  // namespace balloond::qmp
