// SPDX-License-Identifier: Apache-2.0
#include "daemon/state/store.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <ctime>
#include <system_error>

namespace balloond {

namespace {

// A state file larger than this is not one balloond wrote (a few KiB per VM).
constexpr off_t kMaxStateBytes = off_t{64} << 20;

std::string errnoText(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::generic_category().message(errno);
}

// Writes all of `data` to `fd`.
bool writeAll(int fd, const std::string& data) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  return true;
}

// The whole of an open file, if it is a regular file of at most kMaxStateBytes. A FIFO, a device
// or a directory in place of state.json is refused at once: opened O_NONBLOCK and checked with
// fstat on the open descriptor, it can neither block the start nor feed it without end.
Result<std::string> readRegularFile(int fd, const std::string& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    return Error{errnoText("cannot read", path)};
  }
  if (!S_ISREG(st.st_mode)) {
    return Error{path + ": not a regular file"};
  }
  if (st.st_size > kMaxStateBytes) {
    return Error{path + ": larger than " + std::to_string(kMaxStateBytes) + " bytes"};
  }
  std::string text;
  char buf[65536];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return Error{errnoText("cannot read", path)};
    }
    if (n == 0) {
      return text;
    }
    text.append(buf, static_cast<std::size_t>(n));
    if (text.size() > static_cast<std::size_t>(kMaxStateBytes)) {
      return Error{path + ": larger than " + std::to_string(kMaxStateBytes) + " bytes"};
    }
  }
}

}  // namespace

StateStore::StateStore(std::string dir) : dir_(std::move(dir)), path_(dir_ + "/state.json") {}

LoadedState StateStore::load() const {
  LoadedState out;
  const int fd = ::open(path_.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) {
    return out;  // a first start
  }
  auto text = fd < 0 ? Result<std::string>(Error{errnoText("cannot read", path_)})
                     : readRegularFile(fd, path_);
  if (fd >= 0) {
    ::close(fd);
  }
  if (!text) {
    out.warning = text.error().message;
  } else {
    auto j = nlohmann::json::parse(*text, nullptr, false);
    if (j.is_discarded()) {
      out.warning = path_ + ": not valid JSON";
    } else {
      auto state = persistedStateFromJson(j);
      if (state) {
        out.state = std::move(*state);
        return out;
      }
      out.warning = path_ + ": " + state.error().message;
    }
  }
  std::string aside = path_ + ".corrupt-" + std::to_string(std::time(nullptr));
  struct stat taken {};
  for (int n = 1; ::stat(aside.c_str(), &taken) == 0; ++n) {  // never over an earlier one
    aside = path_ + ".corrupt-" + std::to_string(std::time(nullptr)) + "-" + std::to_string(n);
  }
  if (std::rename(path_.c_str(), aside.c_str()) == 0) {
    out.moved_aside = aside;
    spdlog::warn("state-corrupt error=\"{}\" moved_to={} starting=fresh", out.warning, aside);
  } else {
    spdlog::warn(R"(state-corrupt error="{}" move_failed="{}" starting=fresh)", out.warning,
                 std::generic_category().message(errno));
  }
  return out;
}

Status StateStore::save(const PersistedState& state) const {
  const std::string tmp = path_ + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) {
    return Error{errnoText("cannot create", tmp)};
  }
  // A name with invalid UTF-8 is replaced, never a throw on the event loop.
  const std::string data =
      toJson(state).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  if (!writeAll(fd, data) || ::fsync(fd) != 0) {
    Error e{errnoText("cannot write", tmp)};
    ::close(fd);
    ::unlink(tmp.c_str());
    return e;
  }
  if (::close(fd) != 0) {
    Error e{errnoText("cannot close", tmp)};
    ::unlink(tmp.c_str());
    return e;
  }
  if (std::rename(tmp.c_str(), path_.c_str()) != 0) {
    Error e{errnoText("cannot rename to", path_)};
    ::unlink(tmp.c_str());
    return e;
  }
  const int dfd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) {
    return Error{errnoText("cannot open", dir_)};
  }
  const bool synced = ::fsync(dfd) == 0;
  ::close(dfd);
  if (!synced) {
    return Error{errnoText("cannot fsync", dir_)};
  }
  return Ok{};
}

}  // namespace balloond
