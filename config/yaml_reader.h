// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <yaml-cpp/yaml.h>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/range.h"
#include "proto/result.h"

namespace balloond::config {

// A value in the document: its node, dotted key path, and the position to report. A null value
// (`key:` with nothing after it) is reported at its key, since yaml-cpp marks it at the next token.
struct Val {
  YAML::Node node;
  std::string path;
  YAML::Mark mark;
};

// One key a map accepts: how to read its value, and whether it must be present.
struct Field {
  std::string_view key;
  std::function<bool(const Val&)> read;
  bool required = false;
};

inline constexpr bool kRequired = true;

// The YAML reading kit the grammars are written in: typed reads of maps, lists, numbers in a
// range, strings, choices and flags, each reporting "FILE:LINE:COL: key.path: problem". Every
// read returns false once it has recorded an error, and callers stop there, so the first error in
// the document is the one kept. A grammar derives from it and adds one method per section.
class YamlReader {
 public:
  explicit YamlReader(std::string source) : source_(std::move(source)) {}
  const Error& error() const { return error_; }

 protected:
  // Records `problem` at `v` and returns false.
  bool fail(const Val& v, const std::string& problem);
  // The value of `key` in map `v`, for checks between keys; when absent, at the map's position.
  static Val at(const Val& v, std::string_view key);
  // Calls `entry(key, key_at, value)` for each key of a map in document order; rejects anything
  // but a map (an empty value reads as an empty map) and keys given twice.
  bool entries(const Val& v,
               const std::function<bool(const std::string&, const Val&, const Val&)>& entry);
  // Reads a map whose keys must all be among `fields`; then checks the required ones are there.
  bool map(const Val& v, const std::vector<Field>& fields,
           const std::string& unknown = "unknown key");
  // Reads a list item by item; an empty value reads as no items.
  bool list(const Val& v, const std::function<bool(const Val&, bool last)>& item);
  // A finite number; with a range, one inside it (no range: an internal error, a key missing
  // from its table).
  bool number(const Val& v, double& out);
  bool number(const Val& v, const std::optional<Range>& range, double& out);
  bool str(const Val& v, std::string& out);
  // Reads a string that must be one of `known`; `what` names it in the message.
  bool choice(const Val& v, std::string& out, const std::vector<std::string_view>& known,
              const std::string& what);

  template <typename T>  // double or std::optional<double>
  Field num(std::string_view key, T& out, std::optional<Range> range, bool required = false) {
    return {key,
            [this, range, &out](const Val& v) {
              double d = 0;
              if (!number(v, range, d)) return false;
              out = d;
              return true;
            },
            required};
  }

  template <typename T>  // bool or std::optional<bool>
  Field flag(std::string_view key, T& out) {
    return {key, [this, &out](const Val& v) {
              bool b = false;
              if (!boolean(v, b)) return false;
              out = b;
              return true;
            }};
  }

 private:
  bool boolean(const Val& v, bool& out);

  std::string source_;
  Error error_;
};

// "FILE:LINE:COL: " from yaml-cpp's 0-based mark; an empty document has no mark: 1:1.
std::string where(const std::string& source, const YAML::Mark& mark);
// "'text'", "a map", "a list" or "nothing", for "expected ..., got ..." messages.
std::string describe(const YAML::Node& node);
// "a, b, c".
std::string joined(const std::vector<std::string_view>& words);

// Parses `text` and hands its root to `read`; a syntax error becomes "FILE:LINE:COL: syntax
// error: ...", anything thrown "FILE: internal error: ...". Never throws.
Status readDocument(const std::string& text, const std::string& source,
                    const std::function<Status(const Val& root)>& read);

// A check on a file once it is open and before it is read (e.g. whether the peer that asked for
// it may read it itself); an Error refuses the file with that message.
using FileCheck = std::function<Status(int fd, const std::string& path)>;

// The most bytes a config or scenario file may hold.
inline constexpr std::size_t kMaxFileBytes = std::size_t{1024} * 1024;

// The whole file, or "PATH: cannot read: <strerror>". Only a regular file of at most
// kMaxFileBytes is read ("not a regular file", "larger than 1 MiB"); it is opened non-blocking,
// so a FIFO or a device cannot stall the caller. With a `check`, the file is refused unless
// the check passes on the very descriptor that is then read (no race with a swapped path).
Result<std::string> readFile(const std::string& path, const FileCheck& check = nullptr);

}  // namespace balloond::config
