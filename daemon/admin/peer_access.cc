// SPDX-License-Identifier: Apache-2.0
#include "daemon/admin/peer_access.h"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <filesystem>
#include <system_error>

#include "config/keys.h"

namespace balloond {

namespace {

enum class Need { kRead, kSearch };

bool allowed(const struct stat& st, uid_t uid, const std::vector<gid_t>& groups, Need need) {
  const bool read = need == Need::kRead;
  if (st.st_uid == uid) {
    return (st.st_mode & (read ? S_IRUSR : S_IXUSR)) != 0;
  }
  if (std::find(groups.begin(), groups.end(), st.st_gid) != groups.end()) {
    return (st.st_mode & (read ? S_IRGRP : S_IXGRP)) != 0;
  }
  return (st.st_mode & (read ? S_IROTH : S_IXOTH)) != 0;
}

}  // namespace

std::vector<gid_t> peerGroups(const Peer& peer) {
  std::vector<gid_t> groups{static_cast<gid_t>(peer.gid)};
  std::array<char, 16384> buf{};
  passwd pw{};
  passwd* found = nullptr;
  if (getpwuid_r(static_cast<uid_t>(peer.uid), &pw, buf.data(), buf.size(), &found) != 0 ||
      found == nullptr) {
    return groups;
  }
  int count = 64;
  std::vector<gid_t> list(static_cast<size_t>(count));
  if (getgrouplist(found->pw_name, static_cast<gid_t>(peer.gid), list.data(), &count) < 0) {
    list.resize(static_cast<size_t>(count));
    if (getgrouplist(found->pw_name, static_cast<gid_t>(peer.gid), list.data(), &count) < 0) {
      return groups;
    }
  }
  list.resize(static_cast<size_t>(count));
  return list;
}

Status peerMayRead(const Peer& peer, const std::vector<gid_t>& groups, int fd,
                   const std::string& path) {
  if (peer.uid == 0) {
    return Ok{};
  }
  const Error refused{path + ": uid " + std::to_string(peer.uid) +
                      " may not read this file (config-test reads a file only for a user who "
                      "could read it)"};
  if (peer.uid < 0) {
    return refused;
  }
  const auto uid = static_cast<uid_t>(peer.uid);
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    return refused;
  }
  const bool has_acl = fgetxattr(fd, "system.posix_acl_access", nullptr, 0) >= 0;
  if (!allowed(st, uid, groups, Need::kRead) || (has_acl && st.st_uid != uid)) {
    return refused;
  }
  // The directories above the file as it is now open (not as `path` may name it by then).
  std::error_code ec;
  const auto real = std::filesystem::read_symlink("/proc/self/fd/" + std::to_string(fd), ec);
  if (ec || !real.is_absolute()) {
    return refused;
  }
  for (auto dir = real.parent_path();; dir = dir.parent_path()) {
    struct stat dst {};
    if (stat(dir.c_str(), &dst) != 0 || !allowed(dst, uid, groups, Need::kSearch)) {
      return refused;
    }
    if (dir == dir.root_path()) {
      break;
    }
  }
  return Ok{};
}

std::string withoutQuotes(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c != '\'' && c != '"') {
      out += c;
      continue;
    }
    const auto end = text.find(c, i + 1);
    if (end == std::string_view::npos) {  // an unmatched quote: drop the rest
      out += c;
      out += "...";
      break;
    }
    out += c;
    out += "...";
    out += c;
    i = end;
  }
  return out;
}

std::string redactedForPeer(std::string_view message, std::string_view source) {
  std::string out;
  std::string_view rest = message;
  // "FILE:LINE:COL: ": the file is the one the peer named; the numbers are positions.
  if (!source.empty() && rest.starts_with(source) && rest.substr(source.size()).starts_with(":")) {
    std::size_t i = source.size() + 1;
    while (i < rest.size() &&
           (std::isdigit(static_cast<unsigned char>(rest[i])) != 0 || rest[i] == ':')) {
      ++i;
    }
    if (i < rest.size() && rest[i] == ' ') {
      ++i;
    }
    out = std::string(rest.substr(0, i));
    rest.remove_prefix(i);
  }
  if (const auto colon = rest.find(": "); colon != std::string_view::npos) {
    const std::string_view head = rest.substr(0, colon);
    std::string key;  // "vms[2].floor_mib" -> "vms[].floor_mib", as the key table spells it
    for (std::size_t i = 0; i < head.size(); ++i) {
      key += head[i];
      if (head[i] == '[') {
        while (i + 1 < head.size() && head[i + 1] != ']') {
          ++i;
        }
      }
    }
    const bool known =
        head == "syntax error" || head == "internal error" || config::findKey(key) != nullptr;
    out += known ? std::string(head) : "...";
    rest.remove_prefix(colon);
  }
  return out + withoutQuotes(rest);
}

}  // namespace balloond
