// SPDX-License-Identifier: Apache-2.0
#include "daemon/state/store.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>
#include <system_error>

namespace balloond {

namespace {

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

}  // namespace

StateStore::StateStore(std::string dir) : dir_(std::move(dir)), path_(dir_ + "/state.json") {}

LoadedState StateStore::load() const {
  LoadedState out;
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0 && errno == ENOENT) {
    return out;  // a first start
  }
  std::ifstream in(path_);
  if (!in || !S_ISREG(st.st_mode)) {
    out.warning = "cannot read " + path_;
  } else {
    std::stringstream text;
    text << in.rdbuf();
    auto j = nlohmann::json::parse(text.str(), nullptr, false);
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
  const std::string data = toJson(state).dump(2) + "\n";
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
