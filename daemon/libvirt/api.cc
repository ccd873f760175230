// SPDX-License-Identifier: Apache-2.0
#include "daemon/libvirt/api.h"

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <utility>

#include "daemon/procfs/procfs.h"

namespace balloond::libvirt {
namespace {

double wallSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// libvirt's event loop on one dedicated thread, started once per process.
//
// Why a thread and not virEventRegisterImpl on the Asio loop: libvirt's handle and timeout
// callbacks come with contracts (free callbacks deferred to a clean stack, calls from libvirt's
// own threads, fds re-armed after each dispatch) that its default implementation already keeps
// and that are easy to break subtly. This thread runs virEventRunDefaultImpl: the event callbacks
// it dispatches just append to a mutex-guarded inbox, and the libvirt channel's worker runs its
// jobs (every API call) here too (EventLoopHost), taking the inbox with each read; every decision
// stays on the daemon's one Asio thread.
//
// At exit the thread is asked to stop and given a bounded time: a call that hangs in a job here
// cannot be interrupted, so the process then exits without it (the kernel closes the socket).
class EventThread {
 public:
  static void ensureStarted() { static EventThread thread; }

  EventThread(const EventThread&) = delete;
  EventThread& operator=(const EventThread&) = delete;
  EventThread(EventThread&&) = delete;
  EventThread& operator=(EventThread&&) = delete;

 private:
  static constexpr std::chrono::seconds kExitWait{2};

  EventThread() {
    if (virInitialize() < 0 || virEventRegisterDefaultImpl() < 0) {
      throw std::runtime_error("libvirt: cannot initialize the event loop");
    }
    // A disabled timer, armed only to wake the loop up when it must stop.
    wake_ = virEventAddTimeout(
        -1, [](int, void*) {}, nullptr, nullptr);
    thread_ = std::thread([this] {
      while (!stop_.load()) {
        virEventRunDefaultImpl();
      }
      const std::lock_guard lock(mutex_);
      ended_ = true;
      ended_changed_.notify_all();
    });
  }
  ~EventThread() {
    stop_.store(true);
    virEventUpdateTimeout(wake_, 0);
    bool ended = false;
    {
      std::unique_lock lock(mutex_);
      ended = ended_changed_.wait_for(lock, kExitWait, [this] { return ended_; });
    }
    if (!ended) {
      thread_.detach();  // hung in a libvirt call: the process exits without it
      return;
    }
    thread_.join();
    virEventRemoveTimeout(wake_);
  }

  std::atomic<bool> stop_{false};
  int wake_ = -1;
  std::mutex mutex_;
  std::condition_variable ended_changed_;
  bool ended_ = false;  // the thread's loop is over
  std::thread thread_;
};

// Runs a worker's jobs on libvirt's event thread: a timeout, disabled until wake() makes it fire
// at once; its callback disables it again and drains the worker's queue. The libvirt calls the
// jobs make then re-arm the connection's socket and keepalive timer from the loop's own thread,
// which wakes nobody (from any other thread each re-arm wakes the loop: 3-4 wake-ups a call).
class EventLoopHost : public Worker::Host {
 public:
  // nullptr when libvirt's loop cannot take a timeout.
  static std::unique_ptr<Worker::Host> make(std::function<void()> drain) {
    auto host = std::unique_ptr<EventLoopHost>(new EventLoopHost());
    host->timer_ = virEventAddTimeout(
        -1, onTimer,
        new std::function<void()>(std::move(drain)),  // NOLINT(cppcoreguidelines-owning-memory)
        freeDrain);
    virResetLastError();
    return host->timer_ < 0 ? nullptr : std::move(host);
  }
  ~EventLoopHost() override {
    virEventRemoveTimeout(timer_);  // libvirt frees the drain once no callback runs
  }
  EventLoopHost(const EventLoopHost&) = delete;
  EventLoopHost& operator=(const EventLoopHost&) = delete;
  EventLoopHost(EventLoopHost&&) = delete;
  EventLoopHost& operator=(EventLoopHost&&) = delete;

  void wake() override { virEventUpdateTimeout(timer_, 0); }

 private:
  EventLoopHost() = default;
  static void onTimer(int timer, void* opaque) {
    virEventUpdateTimeout(timer, -1);
    (*static_cast<std::function<void()>*>(opaque))();
  }
  static void freeDrain(void* opaque) {
    delete static_cast<std::function<void()>*>(opaque);  // NOLINT(cppcoreguidelines-owning-memory)
  }
  int timer_ = -1;
};

// Where event callbacks put what they hear. Shared with libvirt through the callbacks' opaque
// pointer, which libvirt frees (through freeInbox) once it will not call them any more.
struct Inbox {
  std::mutex mutex;
  std::vector<Event> events;
  void add(Event e) {
    e.at_s = wallSeconds();
    const std::lock_guard lock(mutex);
    events.push_back(std::move(e));
  }
};
using InboxRef = std::shared_ptr<Inbox>;

Inbox& inboxOf(void* opaque) {
  return **static_cast<InboxRef*>(opaque);
}
void freeInbox(void* opaque) {
  delete static_cast<InboxRef*>(opaque);  // NOLINT(cppcoreguidelines-owning-memory)
}

void onBalloonChange(virConnectPtr /*conn*/, virDomainPtr dom,
                     unsigned long long actual,  // NOLINT(google-runtime-int): libvirt's type
                     void* opaque) {
  inboxOf(opaque).add(Event{.kind = Event::Kind::kBalloonChange,
                            .vm = virDomainGetName(dom),
                            .actual_kib = static_cast<int64_t>(actual)});
}

void onLifecycle(virConnectPtr /*conn*/, virDomainPtr dom, int event, int detail, void* opaque) {
  inboxOf(opaque).add(Event{.kind = Event::Kind::kLifecycle,
                            .vm = virDomainGetName(dom),
                            .event = event,
                            .detail = detail});
}

void onMigrationIteration(virConnectPtr /*conn*/, virDomainPtr dom, int /*iteration*/,
                          void* opaque) {
  inboxOf(opaque).add(Event{.kind = Event::Kind::kMigrationIteration, .vm = virDomainGetName(dom)});
}

void onClose(virConnectPtr /*conn*/, int reason, void* opaque) {
  inboxOf(opaque).add(Event{.kind = Event::Kind::kClosed, .vm = {}, .detail = reason});
}

// libvirt prints every error to stderr unless told otherwise; the channel reports them itself.
void quiet(void* /*data*/, virErrorPtr /*error*/) {}

class RealApi : public Api {
 public:
  RealApi() {
    EventThread::ensureStarted();
    virSetErrorFunc(nullptr, quiet);
  }
  ~RealApi() override { RealApi::close(); }
  RealApi(const RealApi&) = delete;
  RealApi& operator=(const RealApi&) = delete;
  RealApi(RealApi&&) = delete;
  RealApi& operator=(RealApi&&) = delete;

  [[nodiscard]] Worker::HostFactory workerHost() const override {
    return [](std::function<void()> drain) { return EventLoopHost::make(std::move(drain)); };
  }

  CallError open(const std::string& uri) override {
    close();
    conn_ = virConnectOpen(uri.c_str());
    if (conn_ == nullptr) {
      return lastError(ErrorKind::kConnection);
    }
    // The URI libvirt connected to: an empty or aliased one resolved.
    char* connected = virConnectGetURI(conn_);
    local_host_ = connected != nullptr && hostMemoryIsLocal(connected);
    free(connected);  // NOLINT(cppcoreguidelines-no-malloc,cppcoreguidelines-owning-memory)
    virResetLastError();
    // Keepalive notices a dead libvirtd within ~20 s even when no call is in flight; local
    // drivers (test:///) do not support it, which is fine.
    virConnectSetKeepAlive(conn_, 5, 3);
    virResetLastError();
    const std::array<std::pair<int, virConnectDomainEventGenericCallback>, 3> events = {{
        {VIR_DOMAIN_EVENT_ID_BALLOON_CHANGE, VIR_DOMAIN_EVENT_CALLBACK(onBalloonChange)},
        {VIR_DOMAIN_EVENT_ID_LIFECYCLE, VIR_DOMAIN_EVENT_CALLBACK(onLifecycle)},
        {VIR_DOMAIN_EVENT_ID_MIGRATION_ITERATION, VIR_DOMAIN_EVENT_CALLBACK(onMigrationIteration)},
    }};
    for (const auto& [id, callback] : events) {
      const int handle = virConnectDomainEventRegisterAny(
          conn_, nullptr, id, callback,
          new InboxRef(inbox_),  // NOLINT(cppcoreguidelines-owning-memory): freed by freeInbox
          freeInbox);
      if (handle < 0) {
        if (id == VIR_DOMAIN_EVENT_ID_MIGRATION_ITERATION) {
          continue;  // optional: not every driver has it
        }
        CallError e = lastError(ErrorKind::kOther);
        close();
        return e;
      }
      event_ids_.push_back(handle);
    }
    if (virConnectRegisterCloseCallback(
            conn_, onClose,
            new InboxRef(inbox_),  // NOLINT(cppcoreguidelines-owning-memory): freed by freeInbox
            freeInbox) == 0) {
      close_registered_ = true;
    }
    virResetLastError();
    return {};
  }

  void close() override {
    if (conn_ == nullptr) {
      return;
    }
    for (const int id : event_ids_) {
      virConnectDomainEventDeregisterAny(conn_, id);
    }
    event_ids_.clear();
    if (close_registered_) {
      virConnectUnregisterCloseCallback(conn_, onClose);
      close_registered_ = false;
    }
    virConnectClose(conn_);
    conn_ = nullptr;
    virResetLastError();
  }

  CallError allDomainStats(bool nowait, std::vector<DomainRecord>& out) override {
    out.clear();
    if (conn_ == nullptr) {
      return {ErrorKind::kConnection, "not connected"};
    }
    virDomainStatsRecordPtr* records = nullptr;
    unsigned int flags = VIR_CONNECT_GET_ALL_DOMAINS_STATS_ACTIVE;
    if (nowait) {
      flags |= VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT;
    }
    const int n = virConnectGetAllDomainStats(
        conn_, VIR_DOMAIN_STATS_BALLOON | VIR_DOMAIN_STATS_STATE, &records, flags);
    if (n < 0) {
      return lastError(ErrorKind::kOther);
    }
    out.reserve(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
      const virDomainStatsRecord* r = records[i];
      DomainRecord rec;
      rec.name = virDomainGetName(r->dom);
      for (int j = 0; j < r->nparams; ++j) {
        const virTypedParameter& p = r->params[j];
        int64_t v = 0;
        switch (p.type) {
          case VIR_TYPED_PARAM_INT: v = p.value.i; break;
          case VIR_TYPED_PARAM_UINT: v = p.value.ui; break;
          case VIR_TYPED_PARAM_LLONG: v = p.value.l; break;
          case VIR_TYPED_PARAM_ULLONG: v = static_cast<int64_t>(p.value.ul); break;
          default: continue;
        }
        rec.values.emplace(p.field, v);
      }
      out.push_back(std::move(rec));
    }
    virDomainStatsRecordListFree(records);
    return {};
  }

  CallError domainMemory(const std::string& vm, int64_t& max_kib, int64_t& actual_kib) override {
    return withDomain(vm, [&](virDomainPtr dom) {
      virDomainInfo info{};
      if (virDomainGetInfo(dom, &info) < 0) {
        return -1;
      }
      max_kib = static_cast<int64_t>(info.maxMem);
      actual_kib = static_cast<int64_t>(info.memory);
      return 0;
    });
  }

  CallError domainXml(const std::string& vm, std::string& out) override {
    return withDomain(vm, [&](virDomainPtr dom) {
      char* xml = virDomainGetXMLDesc(dom, 0);
      if (xml == nullptr) {
        return -1;
      }
      out = xml;
      free(xml);  // NOLINT(cppcoreguidelines-no-malloc,cppcoreguidelines-owning-memory)
      return 0;
    });
  }

  CallError setMemory(const std::string& vm, int64_t kib) override {
    return withDomain(vm, [&](virDomainPtr dom) {
      using Kib = unsigned long;  // NOLINT(google-runtime-int): libvirt's type
      return virDomainSetMemoryFlags(dom, static_cast<Kib>(kib), VIR_DOMAIN_AFFECT_LIVE);
    });
  }

  CallError setStatsPeriod(const std::string& vm, int seconds) override {
    return withDomain(vm, [&](virDomainPtr dom) {
      return virDomainSetMemoryStatsPeriod(dom, seconds, VIR_DOMAIN_AFFECT_LIVE);
    });
  }

  CallError nodeMemory(HostSample& out) override {
    if (conn_ == nullptr) {
      return {ErrorKind::kConnection, "not connected"};
    }
    if (local_host_) {
      if (auto host = procfs::readHostMemory()) {
        out = *host;
        return {};
      }
      // No readable /proc/meminfo (a container without procfs): ask libvirtd, as for a remote URI.
    }
    int n = 0;
    if (virNodeGetMemoryStats(conn_, VIR_NODE_MEMORY_STATS_ALL_CELLS, nullptr, &n, 0) == 0 &&
        n > 0) {
      std::vector<virNodeMemoryStats> stats(static_cast<size_t>(n));
      if (virNodeGetMemoryStats(conn_, VIR_NODE_MEMORY_STATS_ALL_CELLS, stats.data(), &n, 0) == 0) {
        std::map<std::string, int64_t> f;
        for (int i = 0; i < n; ++i) {
          f[static_cast<const char*>(stats[static_cast<size_t>(i)].field)] =
              static_cast<int64_t>(stats[static_cast<size_t>(i)].value);
        }
        out.total_kib = f["total"];
        out.available_kib = f["free"] + f["buffers"] + f["cached"];
        return {};
      }
    }
    // Drivers without node memory stats (the test driver): total and free from the node info.
    virResetLastError();
    virNodeInfo info{};
    if (virNodeGetInfo(conn_, &info) < 0) {
      return lastError(ErrorKind::kOther);
    }
    out.total_kib = static_cast<int64_t>(info.memory);
    const uint64_t free_bytes = virNodeGetFreeMemory(conn_);
    out.available_kib = free_bytes > 0 ? static_cast<int64_t>(free_bytes / 1024) : out.total_kib;
    virResetLastError();
    return {};
  }

  std::vector<Event> takeEvents() override {
    const std::lock_guard lock(inbox_->mutex);
    return std::exchange(inbox_->events, {});
  }

 private:
  template <typename F>
  CallError withDomain(const std::string& vm, F&& call) {
    if (conn_ == nullptr) {
      return {ErrorKind::kConnection, "not connected"};
    }
    virDomainPtr dom = virDomainLookupByName(conn_, vm.c_str());
    if (dom == nullptr) {
      return lastError(ErrorKind::kNoDomain);
    }
    const int rc = std::forward<F>(call)(dom);
    CallError e = rc < 0 ? lastError(ErrorKind::kOther) : CallError{};
    virDomainFree(dom);
    return e;
  }

  // The calling thread's last libvirt error, classified.
  CallError lastError(ErrorKind fallback) {
    const virError* err = virGetLastError();
    CallError e{fallback,
                err != nullptr && err->message != nullptr ? err->message : "unknown error"};
    if (err != nullptr) {
      switch (err->code) {
        case VIR_ERR_NO_DOMAIN:
        case VIR_ERR_OPERATION_INVALID:  // "domain is not running"
          e.kind = ErrorKind::kNoDomain;
          break;
        case VIR_ERR_NO_SUPPORT:
        case VIR_ERR_INVALID_ARG:  // an unsupported flag
        case VIR_ERR_ARGUMENT_UNSUPPORTED: e.kind = ErrorKind::kUnsupported; break;
        case VIR_ERR_NO_CONNECT:
        case VIR_ERR_INVALID_CONN:
        case VIR_ERR_RPC: e.kind = ErrorKind::kConnection; break;
        default: break;
      }
    }
    if (conn_ != nullptr && virConnectIsAlive(conn_) == 0) {
      e.kind = ErrorKind::kConnection;
    }
    virResetLastError();
    return e;
  }

  virConnectPtr conn_ = nullptr;
  bool local_host_ = false;  // the URI is this host: its memory is read from /proc
  InboxRef inbox_ = std::make_shared<Inbox>();
  std::vector<int> event_ids_;
  bool close_registered_ = false;
};

}  // namespace

bool hostMemoryIsLocal(std::string_view uri) {
  const std::size_t colon = uri.find("://");
  if (colon == std::string_view::npos) {
    return false;
  }
  const std::string_view driver = uri.substr(0, std::min(colon, uri.find('+')));
  const std::string_view rest = uri.substr(colon + 3);
  return driver != "test" && rest.starts_with('/');
}

std::unique_ptr<Api> makeRealApi() {
  return std::make_unique<RealApi>();
}

}  // namespace balloond::libvirt
