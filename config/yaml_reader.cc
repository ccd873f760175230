// SPDX-License-Identifier: Apache-2.0
#include "config/yaml_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <set>
#include <system_error>
#include <utility>

namespace balloond::config {

bool YamlReader::fail(const Val& v, const std::string& problem) {
  error_.message = where(source_, v.mark) + (v.path.empty() ? "" : v.path + ": ") + problem;
  return false;
}

Val YamlReader::at(const Val& v, std::string_view key) {
  std::string path = v.path.empty() ? std::string(key) : v.path + "." + std::string(key);
  YAML::Node node = v.node.IsMap() ? v.node[std::string(key)] : YAML::Node();
  if (!node.IsDefined() || node.IsNull()) return {YAML::Node(), std::move(path), v.mark};
  return {node, std::move(path), node.Mark()};
}

bool YamlReader::entries(
    const Val& v, const std::function<bool(const std::string&, const Val&, const Val&)>& entry) {
  if (v.node.IsNull()) return true;
  if (!v.node.IsMap()) return fail(v, "expected a map, got " + describe(v.node));
  std::set<std::string> seen;
  for (const auto& kv : v.node) {
    const std::string key = kv.first.Scalar();
    Val key_at{kv.first, v.path.empty() ? key : v.path + "." + key, kv.first.Mark()};
    if (!seen.insert(key).second) return fail(key_at, "duplicate key");
    const YAML::Mark mark = kv.second.IsNull() ? key_at.mark : kv.second.Mark();
    if (!entry(key, key_at, Val{kv.second, key_at.path, mark})) return false;
  }
  return true;
}

bool YamlReader::map(const Val& v, const std::vector<Field>& fields, const std::string& unknown) {
  std::set<std::string_view> seen;
  auto entry = [&](const std::string& key, const Val& key_at, const Val& value) {
    auto f =
        std::find_if(fields.begin(), fields.end(), [&](const Field& x) { return x.key == key; });
    if (f == fields.end()) {
      std::vector<std::string_view> known;
      known.reserve(fields.size());
      for (const auto& x : fields) known.push_back(x.key);
      return fail(key_at, unknown + " (known: " + joined(known) + ")");
    }
    seen.insert(f->key);
    return f->read(value);
  };
  if (!entries(v, entry)) return false;
  for (const auto& f : fields) {
    if (f.required && !seen.contains(f.key)) {
      return fail(v, "missing required key '" + std::string(f.key) + "'");
    }
  }
  return true;
}

bool YamlReader::list(const Val& v, const std::function<bool(const Val&, bool last)>& item) {
  if (v.node.IsNull()) return true;
  if (!v.node.IsSequence()) return fail(v, "expected a list, got " + describe(v.node));
  for (std::size_t i = 0; i < v.node.size(); ++i) {
    const YAML::Node n = v.node[i];
    Val x{n, v.path + "[" + std::to_string(i) + "]", n.IsNull() ? v.mark : n.Mark()};
    if (!item(x, i + 1 == v.node.size())) return false;
  }
  return true;
}

bool YamlReader::number(const Val& v, double& out) {
  const std::string s = v.node.IsScalar() ? v.node.Scalar() : "";
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() || !std::isfinite(out)) {
    return fail(v, "expected a number, got " + describe(v.node));
  }
  return true;
}

bool YamlReader::number(const Val& v, const std::optional<Range>& range, double& out) {
  if (!number(v, out)) return false;
  if (!range) return fail(v, "internal error: no range for this key");
  auto problem = range->check(out);
  return !problem || fail(v, *problem);
}

bool YamlReader::str(const Val& v, std::string& out) {
  if (!v.node.IsScalar()) return fail(v, "expected a string, got " + describe(v.node));
  out = v.node.Scalar();
  return true;
}

bool YamlReader::choice(const Val& v, std::string& out, const std::vector<std::string_view>& known,
                        const std::string& what) {
  if (!str(v, out)) return false;
  if (std::find(known.begin(), known.end(), out) != known.end()) return true;
  return fail(v, "unknown " + what + " '" + out + "' (known: " + joined(known) + ")");
}

bool YamlReader::boolean(const Val& v, bool& out) {
  const std::string s = v.node.IsScalar() ? v.node.Scalar() : "";
  if (s != "true" && s != "false") {
    return fail(v, "expected true or false, got " + describe(v.node));
  }
  out = s == "true";
  return true;
}

std::string where(const std::string& source, const YAML::Mark& mark) {
  return source + ":" + std::to_string(std::max(mark.line, 0) + 1) + ":" +
         std::to_string(std::max(mark.column, 0) + 1) + ": ";
}

std::string describe(const YAML::Node& node) {
  if (node.IsScalar()) return "'" + node.Scalar() + "'";
  if (node.IsMap()) return "a map";
  if (node.IsSequence()) return "a list";
  return "nothing";
}

std::string joined(const std::vector<std::string_view>& words) {
  std::string out;
  for (auto w : words) {
    out += (out.empty() ? "" : ", ") + std::string(w);
  }
  return out;
}

namespace {

// The message with control characters from the document (a key "a\nb") written out as \n, \t
// or \xNN, so an error stays one line in the log and in a control-socket answer.
std::string oneLine(const std::string& message) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(message.size());
  for (const char c : message) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20 || u == 0x7f) {
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    } else {
      out += c;
    }
  }
  return out;
}

Status readDocumentOnce(const std::string& text, const std::string& source,
                        const std::function<Status(const Val& root)>& read) {
  try {
    const YAML::Node root = YAML::Load(text);
    return read(Val{root, "", root.Mark()});
  } catch (const YAML::ParserException& e) {
    return Error{where(source, e.mark) + "syntax error: " + e.msg};
  } catch (const std::exception& e) {
    return Error{source + ": internal error: " + e.what()};
  } catch (...) {
    return Error{source + ": internal error"};
  }
}

}  // namespace

Status readDocument(const std::string& text, const std::string& source,
                    const std::function<Status(const Val& root)>& read) {
  Status status = readDocumentOnce(text, source, read);
  if (!status) {
    return Error{oneLine(status.error().message)};
  }
  return status;
}

Result<std::string> readFile(const std::string& path, const FileCheck& check) {
  auto cannot = [&path](int err) {
    return Error{path + ": cannot read: " + std::generic_category().message(err)};
  };
  // Non-blocking, so a FIFO (or a device) cannot hold the event loop at open or read; what it
  // is, is checked on the open descriptor, so it cannot be swapped after the check.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    return cannot(errno);
  }
  struct Closer {
    explicit Closer(int f) : fd(f) {}
    int fd;
    Closer(const Closer&) = delete;
    Closer& operator=(const Closer&) = delete;
    Closer(Closer&&) = delete;
    Closer& operator=(Closer&&) = delete;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    return cannot(errno);
  }
  if (S_ISDIR(st.st_mode)) {
    return cannot(EISDIR);
  }
  if (!S_ISREG(st.st_mode)) {
    return Error{path + ": cannot read: not a regular file"};
  }
  const Error too_large{path + ": cannot read: larger than " +
                        std::to_string(kMaxFileBytes / 1024 / 1024) + " MiB"};
  if (st.st_size > static_cast<off_t>(kMaxFileBytes)) {
    return too_large;
  }
  if (check) {
    if (auto s = check(fd, path); !s) {
      return s.error();
    }
  }
  std::string text;
  std::array<char, 65536> buf{};
  for (;;) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return cannot(errno);
    }
    if (n == 0) {
      return text;
    }
    text.append(buf.data(), static_cast<std::size_t>(n));
    if (text.size() > kMaxFileBytes) {  // it grew since fstat
      return too_large;
    }
  }
}

}  // namespace balloond::config
