// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/libvirt/worker.h"
#include "proto/types.h"

namespace balloond::libvirt {

// What kind of failure a libvirt call had, as far as the channel cares.
enum class ErrorKind {
  kNone,
  kNoDomain,     // the domain does not exist (any more) or is not running: routine
  kUnsupported,  // the driver does not support this call or flag
  kConnection,   // the connection is gone
  kOther,
};

// The outcome of one call: kNone on success, otherwise the kind and libvirt's message.
struct CallError {
  ErrorKind kind = ErrorKind::kNone;
  std::string message;
  explicit operator bool() const { return kind != ErrorKind::kNone; }
};

// One domain's record from virConnectGetAllDomainStats: its name and its typed parameters
// ("state.state", "balloon.current", ...), all of which are integers for the groups we ask for.
struct DomainRecord {
  std::string name;
  std::map<std::string, int64_t> values;
};

// Something libvirt told us between calls, delivered on libvirt's event thread.
struct Event {
  enum class Kind {
    kBalloonChange,  // `actual_kib` is the guest's new balloon actual
    kLifecycle,      // `event` / `detail` are virDomainEventType and its detail code
    kMigrationIteration,
    kClosed,  // the connection closed; `detail` is virConnectCloseReason
  };
  Kind kind = Kind::kLifecycle;
  std::string vm;
  int64_t actual_kib = 0;
  int event = 0;
  int detail = 0;
  double at_s = 0;  // wall-clock seconds when it arrived
};

// The libvirt C API, as much of it as the channel uses. One real implementation (RealApi, over
// libvirt.so) and a fake in the tests. Calls are made from one thread, the libvirt channel's
// worker (workerHost), never two at once; events are queued by libvirt's event thread and collected
// with takeEvents() (which takes the queue under its lock).
class Api {
 public:
  Api() = default;
  virtual ~Api() = default;
  Api(const Api&) = delete;
  Api& operator=(const Api&) = delete;
  Api(Api&&) = delete;
  Api& operator=(Api&&) = delete;
  // Opens `uri` and registers for balloon, lifecycle and close events.
  virtual CallError open(const std::string& uri) = 0;
  // Deregisters events and closes the connection; harmless when not open.
  virtual void close() = 0;
  // Stats for every running domain: the balloon and state groups in one call.
  virtual CallError allDomainStats(bool nowait, std::vector<DomainRecord>& out) = 0;
  // Max and current memory from virDomainGetInfo, for drivers whose bulk stats lack the balloon
  // group (the test driver).
  virtual CallError domainMemory(const std::string& vm, int64_t& max_kib, int64_t& actual_kib) = 0;
  // The live domain XML.
  virtual CallError domainXml(const std::string& vm, std::string& out) = 0;
  // virDomainSetMemoryFlags(..., VIR_DOMAIN_AFFECT_LIVE).
  virtual CallError setMemory(const std::string& vm, int64_t kib) = 0;
  // virDomainSetMemoryStatsPeriod(..., VIR_DOMAIN_AFFECT_LIVE).
  virtual CallError setStatsPeriod(const std::string& vm, int seconds) = 0;
  // The host's memory as the hypervisor sees it (total and available). On a URI of this host
  // (hostMemoryIsLocal) it is /proc/meminfo, read directly: no RPC, and MemAvailable.
  virtual CallError nodeMemory(HostSample& out) = 0;
  // Events queued since the last call, oldest first.
  virtual std::vector<Event> takeEvents() = 0;
  // Where the channel's worker runs these calls: empty, a thread of its own (the fakes); the
  // real API runs them on libvirt's event thread, where they wake no other thread.
  [[nodiscard]] virtual Worker::HostFactory workerHost() const { return {}; }
};

// Whether the connected `uri` names a hypervisor on this host, whose memory /proc/meminfo tells:
// no host part ("qemu:///system", "qemu+unix:///session") and not the test driver, whose node is
// made up.
bool hostMemoryIsLocal(std::string_view uri);

// The real API over libvirt.so. The first one created starts libvirt's event loop thread.
std::unique_ptr<Api> makeRealApi();

}  // namespace balloond::libvirt
