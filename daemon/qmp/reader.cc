// SPDX-License-Identifier: Apache-2.0
#include "daemon/qmp/reader.h"

#include <utility>

#include "proto/json_line.h"

namespace balloond::qmp {
namespace {

using json = nlohmann::json;

// Our ids are the numbers balloond sent; anything else in "id" is not an answer to us.
bool readId(const json& j, Message& m, std::string& problem) {
  auto it = j.find("id");
  if (it == j.end()) {
    return true;
  }
  if (!it->is_number_unsigned()) {
    problem = "an id balloond did not send (not a non-negative integer)";
    return false;
  }
  m.id = it->get<uint64_t>();
  return true;
}

}  // namespace

Result<Message> parseMessage(std::string_view line) {
  if (nestsDeeperThan(line, kMaxDepth)) {
    return Error{"qmp: message nested deeper than " + std::to_string(kMaxDepth) + " levels"};
  }
  json j = parseJsonLine(line);
  if (j.is_discarded()) {
    return Error{"qmp: malformed JSON"};
  }
  if (!j.is_object()) {
    return Error{"qmp: a message that is not a JSON object"};
  }
  Message m;
  std::string problem;
  if (!readId(j, m, problem)) {
    return Error{"qmp: " + problem};
  }
  if (auto it = j.find("return"); it != j.end()) {
    m.kind = Message::Kind::kReturn;
    m.value = std::move(*it);
  } else if (auto err = j.find("error"); err != j.end()) {
    m.kind = Message::Kind::kError;
    if (!err->is_object()) {
      return Error{"qmp: an error that is not an object"};
    }
    auto cls = err->find("class");
    auto desc = err->find("desc");
    m.name = cls != err->end() && cls->is_string() ? cls->get<std::string>() : "GenericError";
    m.text = desc != err->end() && desc->is_string() ? desc->get<std::string>() : "";
  } else if (auto ev = j.find("event"); ev != j.end()) {
    if (!ev->is_string()) {
      return Error{"qmp: an event whose name is not a string"};
    }
    m.kind = Message::Kind::kEvent;
    m.name = ev->get<std::string>();
    if (auto data = j.find("data"); data != j.end()) {
      m.value = std::move(*data);
    }
  } else if (auto greeting = j.find("QMP"); greeting != j.end()) {
    m.kind = Message::Kind::kGreeting;
    m.value = std::move(*greeting);
  } else {
    return Error{"qmp: a message that is no greeting, return, error or event"};
  }
  return m;
}

void LineReader::append(std::string_view bytes) {
  if (!failed_) {
    buffer_.append(bytes);
  }
}

Result<std::optional<std::string>> LineReader::next() {
  if (failed_) {
    return Error{"qmp: a line longer than " + std::to_string(kMaxLineBytes) + " bytes"};
  }
  const std::size_t end = buffer_.find('\n', scanned_);
  if (end == std::string::npos) {
    scanned_ = buffer_.size();
    if (buffer_.size() > kMaxLineBytes) {
      failed_ = true;
      buffer_.clear();
      buffer_.shrink_to_fit();
      return next();
    }
    return std::optional<std::string>{};
  }
  if (end > kMaxLineBytes) {
    failed_ = true;
    buffer_.clear();
    return next();
  }
  std::size_t stop = end;
  if (stop > 0 && buffer_[stop - 1] == '\r') {
    --stop;
  }
  std::string line = buffer_.substr(0, stop);
  buffer_.erase(0, end + 1);
  scanned_ = 0;
  return std::optional<std::string>{std::move(line)};
}

std::string encodeCommand(std::string_view command, const nlohmann::json& arguments, uint64_t id) {
  json j = {{"execute", command}, {"id", id}};
  if (!arguments.is_null()) {
    j["arguments"] = arguments;
  }
  return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\r\n";
}

}  // namespace balloond::qmp
