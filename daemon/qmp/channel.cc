// SPDX-License-Identifier: Apache-2.0
#include "daemon/qmp/channel.h"

#include <glob.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <chrono>
#include <utility>

#include "daemon/procfs/procfs.h"

namespace balloond {
namespace {

double wallSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

QmpChannel::QmpChannel(boost::asio::io_context& io, config::QmpSpec spec, Clock clock,
                       std::string proc)
    : io_(io), spec_(std::move(spec)), clock_(std::move(clock)), proc_(std::move(proc)) {
  if (!clock_) {
    clock_ = wallSeconds;
  }
}

std::map<std::string, QmpChannel::Found> QmpChannel::discover() {
  std::map<std::string, Found> found;
  for (const auto& socket : spec_.sockets) {
    glob_t g{};
    // NOLINTNEXTLINE(concurrency-mt-unsafe): called only from the daemon's one loop thread
    const int rc = ::glob(socket.glob.c_str(), GLOB_NOSORT, nullptr, &g);
    if (rc != 0 && rc != GLOB_NOMATCH && logged_.insert("glob:" + socket.glob).second) {
      spdlog::warn("qmp-glob-failed glob={} error={}", socket.glob,
                   rc == GLOB_NOSPACE ? "out of memory" : "read error");
    }
    for (std::size_t i = 0; rc == 0 && i < g.gl_pathc; ++i) {
      const std::string path = g.gl_pathv[i];
      struct stat st {};
      if (::lstat(path.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode)) {
        continue;  // not a socket: never a VM
      }
      found.try_emplace(path, Found{&socket, st.st_ino});  // the first glob that matches wins
    }
    globfree(&g);
  }
  return found;
}

Result<Snapshot> QmpChannel::read() {
  const double now = clock_();
  auto host = procfs::readHostMemory(proc_);
  if (!host) {
    return Error{"qmp: host memory: " + host.error().message};
  }
  const auto found = discover();
  for (auto it = links_.begin(); it != links_.end();) {
    if (found.contains(it->first)) {
      ++it;
      continue;
    }
    if (it->second->state() == qmp::LinkState::kLive ||
        it->second->state() == qmp::LinkState::kUnread) {
      spdlog::info("qmp-vm-gone vm={} socket={} reason=socket-removed", it->second->facts().name,
                   it->first);
    }
    inodes_.erase(it->first);
    it = links_.erase(it);
  }
  for (const auto& [path, f] : found) {
    auto [it, added] = links_.try_emplace(path);
    if (added) {
      it->second = std::make_unique<qmp::VmLink>(io_, path, *f.socket, spec_, clock_);
    } else if (inodes_[path] != f.inode) {
      it->second->restarted();  // a new QEMU bound the same path
    }
    inodes_[path] = f.inode;
  }

  Snapshot snap;
  snap.time_s = now;
  snap.host = *host;
  paths_.clear();
  for (const auto& [path, link] : links_) {
    const auto state = link->state();
    if (state != qmp::LinkState::kLive && state != qmp::LinkState::kUnread) {
      continue;
    }
    VmSample vm = link->sample();
    if (auto [at, fresh] = paths_.try_emplace(vm.name, path); !fresh) {
      if (logged_.insert("dup:" + path).second) {
        spdlog::warn(
            "qmp-duplicate-name vm={} socket={} other={} hint=\"name_from: socket names VMs by "
            "their socket file\"",
            vm.name, path, at->second);
      }
      continue;
    }
    if (state == qmp::LinkState::kUnread) {
      vm.unread_reason = link->problem();
    }
    if (link->facts().pid) {
      vm.rss_kib = procfs::processRssKib(*link->facts().pid, proc_);
    }
    snap.vms.push_back(std::move(vm));
  }
  for (auto& [path, link] : links_) {
    link->poll();
  }
  return snap;
}

Status QmpChannel::push(const std::string& vm, int64_t target_kib) {
  auto it = paths_.find(vm);
  if (it == paths_.end()) {
    return Error{"qmp: no VM named " + vm};
  }
  auto link = links_.find(it->second);
  if (link == links_.end() || link->second->state() == qmp::LinkState::kGone) {
    return Error{"qmp: " + vm + " is gone"};
  }
  link->second->push(target_kib);
  return Ok{};
}

}  // namespace balloond
