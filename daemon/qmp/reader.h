// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "proto/result.h"

namespace balloond::qmp {

// The longest line balloond accepts from QEMU. A guest-stats reply is about 500 bytes and the
// longest answer balloond asks for (qom-list of /machine/peripheral on a VM with many devices) a
// few KiB; anything longer is not QEMU talking to us.
constexpr std::size_t kMaxLineBytes = std::size_t{64} * 1024;
// How deep a message may nest. QMP's answers to our commands nest 3 levels.
constexpr int kMaxDepth = 16;

// One message from QEMU, classified. Untrusted: only its shape has been checked.
// NOLINTNEXTLINE(bugprone-exception-escape): nlohmann::json moves are noexcept
struct Message {
  enum class Kind {
    kGreeting,  // {"QMP": {...}}
    kReturn,    // {"return": ..., "id": N}
    kError,     // {"error": {"class": ..., "desc": ...}, "id": N}
    kEvent,     // {"event": NAME, "data": {...}, "timestamp": {...}}
  };
  Kind kind = Kind::kGreeting;
  std::optional<uint64_t> id;  // ours, echoed back; absent on greetings and events (and on
                               // errors QEMU raises before it could read an id)
  nlohmann::json value;        // the return value, or the event's data
  std::string name;            // the event's name, or the error's class
  std::string text;            // the error's description
};

// Classifies one line (without its newline) as a QMP message. Every other line, malformed JSON,
// nesting deeper than kMaxDepth, a message of none of the four shapes or a non-numeric id, is an
// error naming the problem, never quoting the line. Pure.
Result<Message> parseMessage(std::string_view line);

// Splits QEMU's byte stream into lines. QMP ends each message with "\r\n" (or "\n"); a line
// longer than kMaxLineBytes is an error, and the reader stays failed: the stream cannot be
// resynchronised safely.
class LineReader {
 public:
  // Adds bytes read from the socket.
  void append(std::string_view bytes);
  // The next complete line without its line end, if there is one; an Error once failed.
  Result<std::optional<std::string>> next();
  [[nodiscard]] bool failed() const { return failed_; }

 private:
  std::string buffer_;
  std::size_t scanned_ = 0;  // bytes of buffer_ already known to hold no newline
  bool failed_ = false;
};

// One command as QMP wants it on the wire, with our id and its line end.
std::string encodeCommand(std::string_view command, const nlohmann::json& arguments, uint64_t id);

}  // namespace balloond::qmp
