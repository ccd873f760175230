// SPDX-License-Identifier: Apache-2.0
#include "daemon/qmp/vm_link.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <utility>

#include "daemon/qmp/replies.h"

namespace balloond::qmp {
namespace {

using json = nlohmann::json;
namespace asio = boost::asio;

constexpr double kFirstBackoffS = 1;
constexpr int64_t kBytesPerKib = 1024;

std::chrono::steady_clock::duration seconds(double s) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(s));
}

}  // namespace

// A batch of commands in flight: `then` runs once every one has answered; the first failure
// ends the session instead.
struct VmLink::Step {
  int left = 0;
  bool failed = false;
  std::function<void()> then;
};

VmLink::VmLink(asio::io_context& io, std::string path, config::QmpSocketSpec socket,
               const config::QmpSpec& spec, Clock clock)
    : io_(io),
      path_(std::move(path)),
      socket_(std::move(socket)),
      spec_(spec),
      clock_(std::move(clock)),
      deadline_(io),
      reconnect_(io),
      life_(std::make_shared<int>(0)) {}

// NOLINTNEXTLINE(bugprone-exception-escape): a timer's cancel() throws only if the reactor fails
VmLink::~VmLink() {
  life_.reset();  // no callback still queued touches this link
  deadline_.cancel();
  reconnect_.cancel();
  if (conn_) {
    conn_->close();
  }
}

template <typename F>
auto VmLink::guarded(F f) {
  return [alive = std::weak_ptr<int>(life_), f = std::move(f)](auto&&... args) mutable {
    if (alive.lock()) {
      f(std::forward<decltype(args)>(args)...);
    }
  };
}

bool VmLink::once(const std::string& key) {
  if (logged_.find('|' + key + '|') != std::string::npos) {
    return false;
  }
  logged_ += '|' + key + '|';
  return true;
}

void VmLink::poll() {
  if (running_) {
    return;
  }
  if (socket_.mode == "exclusive") {
    if (conn_ && conn_->isOpen() && facts_known_) {
      running_ = true;
      armDeadline(conn_);
      readStats(conn_, [this, c = conn_] { finish(c); });
    } else if (!conn_ && !reconnect_pending_) {
      startSession();
    }
    return;
  }
  startSession();
}

void VmLink::push(int64_t target_kib) {
  pending_kib_ = target_kib;
  if (socket_.mode == "exclusive") {
    if (conn_ && conn_->isOpen() && facts_known_) {
      sendPush(conn_, [] {});
    }
    return;  // sent once the connection is back
  }
  if (!running_) {
    startSession();
  }
}

void VmLink::restarted() {
  facts_known_ = false;
  logged_.clear();
  if (socket_.mode == "exclusive" && !conn_) {
    reconnect_.cancel();
    reconnect_pending_ = false;
    backoff_s_ = kFirstBackoffS;
  }
}

void VmLink::startSession() {
  running_ = true;
  conn_ = Connection::create(io_, path_);
  const Conn c = conn_;
  c->onEnd(guarded([this, c](const Error& e) {
    if (current(c)) {
      // On an exclusive socket the conversation ends only when QEMU goes (or restarts).
      fail(c, e.message, c->refused() || socket_.mode == "exclusive");
    }
  }));
  if (socket_.mode == "exclusive") {
    c->onEvent(guarded([this, c](const Message& m) {
      if (current(c)) {
        onEvent(m);
      }
    }));
  }
  armDeadline(c);
  c->open(guarded([this, c](const Status& s) { onOpen(c, s); }));
}

void VmLink::armDeadline(const Conn& c) {
  deadline_.expires_after(seconds(spec_.deadline_s));
  deadline_.async_wait(guarded([this, c](const boost::system::error_code& ec) {
    if (ec || !current(c) || !running_) {
      return;
    }
    const std::string why = "no answer within " + fmt::format("{:g}", spec_.deadline_s) +
                            " s (QEMU busy with another client, or hung)";
    if (socket_.mode == "exclusive" && c->isOpen() && facts_known_) {
      // A persistent connection keeps waiting; this tick's numbers are the last ones.
      state_ = LinkState::kUnread;
      problem_ = why;
      return;
    }
    fail(c, why, false);
  }));
}

void VmLink::onOpen(const Conn& c, const Status& s) {
  if (!current(c)) {
    return;
  }
  if (!s) {
    fail(c, s.error().message, c->refused());
    return;
  }
  if (facts_.pid != c->peerPid()) {
    facts_known_ = false;  // another QEMU process than the one we learned
  }
  backoff_s_ = kFirstBackoffS;
  auto rest = [this, c] { readStats(c, [this, c] { sendPush(c, [this, c] { finish(c); }); }); };
  if (facts_known_) {
    rest();
  } else {
    learnFacts(c, rest);
  }
}

VmLink::Reply VmLink::answer(const Conn& c, const std::shared_ptr<Step>& step,
                             std::function<std::optional<std::string>(const json&)> use) {
  return guarded([this, c, step, use = std::move(use)](Result<json> r) {
    if (!current(c) || step->failed) {
      return;
    }
    std::optional<std::string> problem;
    if (!r) {
      problem = r.error().message;
    } else {
      problem = use(*r);
    }
    if (problem) {
      step->failed = true;
      fail(c, *problem, false);
      return;
    }
    if (--step->left == 0) {
      step->then();
    }
  });
}

void VmLink::learnFacts(const Conn& c, std::function<void()> then) {
  period_tried_ = false;  // a new QEMU process starts with its guest's stats off again
  auto learned = std::make_shared<QemuFacts>();
  learned->pid = c->peerPid();
  auto step = std::make_shared<Step>(Step{3, false, [this, c, learned, then = std::move(then)] {
                                            facts_ = *learned;
                                            findBalloon(c, then);
                                          }});
  c->execute("query-name", json(), answer(c, step, [this, learned](const json& r) {
               const auto own = socket_.name_from == "qemu" ? nameFromQueryName(r) : std::nullopt;
               learned->name = own ? *own : nameFromSocketPath(path_);
               return std::optional<std::string>{};
             }));
  c->execute("query-memory-size-summary", json(),
             answer(c, step, [learned](const json& r) -> std::optional<std::string> {
               auto max = maxFromMemorySummary(r);
               if (!max) {
                 return max.error().message;
               }
               learned->max_kib = *max;
               return std::nullopt;
             }));
  c->execute("qom-list", json{{"path", "/machine/peripheral"}},
             answer(c, step, [learned](const json& r) {
               learned->balloon_path = balloonIn(r, "/machine/peripheral");
               return std::optional<std::string>{};
             }));
}

void VmLink::findBalloon(const Conn& c, std::function<void()> then) {
  auto afterPath = [this, c, then = std::move(then)] {
    facts_known_ = true;
    if (!facts_.balloon_path) {
      then();
      return;
    }
    // The stats period: read it, and turn it on where it is off and balloond may.
    auto step = std::make_shared<Step>(Step{1, false, then});
    c->execute("qom-get",
               json{{"path", *facts_.balloon_path}, {"property", "guest-stats-polling-interval"}},
               answer(c, step, [this, c](const json& r) -> std::optional<std::string> {
                 auto period = pollingIntervalFromQom(r);
                 if (!period) {
                   return period.error().message;
                 }
                 facts_.stats_period_s = *period;
                 const auto want = static_cast<int64_t>(spec_.stats_period_s);
                 if (*period == 0 && spec_.set_stats_period && want > 0 && !period_tried_) {
                   period_tried_ = true;
                   c->execute("qom-set",
                              json{{"path", *facts_.balloon_path},
                                   {"property", "guest-stats-polling-interval"},
                                   {"value", want}},
                              guarded([this, want](const Result<json>& set) {
                                if (set) {
                                  facts_.stats_period_s = want;
                                  spdlog::info("stats-period-enabled vm={} period_s={}",
                                               facts_.name, want);
                                } else if (once("period-failed")) {
                                  spdlog::warn("stats-period-failed vm={} error=\"{}\"",
                                               facts_.name, set.error().message);
                                }
                              }));
                 }
                 return std::nullopt;
               }));
  };
  if (facts_.balloon_path) {
    afterPath();
    return;
  }
  // A balloon given no id sits under /machine/peripheral-anon.
  auto step = std::make_shared<Step>(Step{1, false, afterPath});
  c->execute("qom-list", json{{"path", "/machine/peripheral-anon"}},
             answer(c, step, [this](const json& r) {
               facts_.balloon_path = balloonIn(r, "/machine/peripheral-anon");
               return std::optional<std::string>{};
             }));
}

void VmLink::readStats(const Conn& c, std::function<void()> then) {
  auto read = std::make_shared<VmSample>();
  auto step = std::make_shared<Step>(Step{2, false, [this, read, then = std::move(then)] {
                                            sample_.actual_kib = read->actual_kib;
                                            sample_.guest = read->guest;
                                            then();
                                          }});
  if (!facts_.balloon_path) {
    read->actual_kib = facts_.max_kib;  // no balloon: the guest has all of it
    step->then();
    return;
  }
  c->execute("query-balloon", json(),
             answer(c, step, [read](const json& r) -> std::optional<std::string> {
               auto actual = actualFromQueryBalloon(r);
               if (!actual) {
                 return actual.error().message;
               }
               read->actual_kib = *actual;
               return std::nullopt;
             }));
  c->execute("qom-get", json{{"path", *facts_.balloon_path}, {"property", "guest-stats"}},
             answer(c, step, [read](const json& r) -> std::optional<std::string> {
               auto g = guestStatsFromQom(r);
               if (!g) {
                 return g.error().message;
               }
               read->guest = *g;
               return std::nullopt;
             }));
}

void VmLink::sendPush(const Conn& c, std::function<void()> then) {
  if (!pending_kib_) {
    then();
    return;
  }
  const int64_t kib = *pending_kib_;
  c->execute("balloon", json{{"value", kib * kBytesPerKib}},
             guarded([this, c, kib, then = std::move(then)](const Result<json>& r) {
               if (!current(c)) {
                 return;
               }
               if (pending_kib_ == kib) {
                 pending_kib_.reset();  // delivered, or refused for good: not sent again
               }
               if (r) {
                 sent_kib_ = kib;
               } else if (once("push-refused")) {
                 spdlog::warn("push-refused vm={} to_mib={} error=\"{}\"", facts_.name,
                              kib / kKibPerMib, r.error().message);
               }
               then();
             }));
}

void VmLink::finish(const Conn& c) {
  if (!current(c)) {
    return;
  }
  deadline_.cancel();
  running_ = false;
  if (socket_.mode != "exclusive") {
    c->close();
    conn_.reset();
  }
  if (state_ == LinkState::kProbing || state_ == LinkState::kGone) {
    spdlog::info("qmp-vm-found vm={} socket={} mode={} pid={} max_mib={} balloon={}", facts_.name,
                 path_, socket_.mode, facts_.pid.value_or(0), facts_.max_kib / kKibPerMib,
                 facts_.balloon_path.value_or("none"));
  } else if (state_ == LinkState::kUnread) {
    spdlog::info("qmp-read-recovered vm={} socket={}", facts_.name, path_);
  }
  state_ = LinkState::kLive;
  problem_.clear();
  VmSample& s = sample_;
  s.name = facts_.name;
  s.max_kib = facts_.max_kib;
  s.has_balloon = facts_.balloon_path.has_value();
  s.running = true;
  s.stats_period_s = static_cast<double>(facts_.stats_period_s);
  s.note = !s.has_balloon ? "no-balloon-device" : facts_.stats_period_s <= 0 ? "stats-off" : "";
  if (!s.has_balloon && once("no-balloon")) {
    spdlog::warn("vm-no-driver vm={} reason=no-balloon-device socket={}", s.name, path_);
  }
  if (pending_kib_ && socket_.mode != "exclusive") {
    startSession();  // a target came in after this session's push: deliver it now
  }
}

void VmLink::fail(const Conn& c, const std::string& why, bool gone) {
  if (!current(c)) {
    return;
  }
  deadline_.cancel();
  running_ = false;
  c->close();
  conn_.reset();
  problem_ = why;
  if (gone) {
    if (state_ != LinkState::kGone && state_ != LinkState::kProbing) {
      spdlog::info("qmp-vm-gone vm={} socket={} reason=\"{}\"", facts_.name, path_, why);
    }
    state_ = LinkState::kGone;
    facts_known_ = false;
  } else {
    if (state_ == LinkState::kLive) {
      spdlog::info("qmp-read-failed vm={} socket={} reason=\"{}\"", facts_.name, path_, why);
    }
    if (state_ != LinkState::kProbing && state_ != LinkState::kGone) {
      state_ = LinkState::kUnread;
    }
  }
  if (socket_.mode == "exclusive") {
    scheduleReconnect();
  }
}

void VmLink::scheduleReconnect() {
  reconnect_pending_ = true;
  reconnect_.expires_after(seconds(backoff_s_));
  backoff_s_ = std::min(backoff_s_ * 2, std::max(kFirstBackoffS, spec_.reconnect_max_s));
  reconnect_.async_wait(guarded([this](const boost::system::error_code& ec) {
    if (ec || !reconnect_pending_) {
      return;
    }
    reconnect_pending_ = false;
    if (!conn_) {
      startSession();
    }
  }));
}

void VmLink::onEvent(const Message& m) {
  ++events_;
  if (m.name != "BALLOON_CHANGE") {
    return;
  }
  auto actual = actualFromQueryBalloon(m.value);
  if (!actual) {
    if (once("bad-event")) {
      spdlog::warn("qmp-bad-event vm={} event=BALLOON_CHANGE error=\"{}\"", facts_.name,
                   actual.error().message);
    }
    return;
  }
  sample_.actual_kib = *actual;
  ++acks_;
  spdlog::info("balloon-ack vm={} actual_mib={} target_mib={} acks={}", facts_.name,
               *actual / kKibPerMib, sent_kib_ / kKibPerMib, acks_);
}

}  // namespace balloond::qmp
