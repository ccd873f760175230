// SPDX-License-Identifier: Apache-2.0
#include "policy/memory.h"

#include <sstream>
#include <utility>

namespace balloond::policy {

using nlohmann::json;

namespace {

// Drops the oldest entries beyond `keep`.
template <typename Window>
void keepNewest(Window& window, std::size_t keep) {
  if (window.size() > keep) {
    window.erase(window.begin(),
                 window.begin() + static_cast<std::ptrdiff_t>(window.size() - keep));
  }
}

}  // namespace

MemoryReader::MemoryReader(const json& j, std::string path) : j_(j), path_(std::move(path)) {
  if (!j_.is_object()) {
    error_ = path_ + ": expected an object";
  }
}

const json* MemoryReader::find(const char* key) {
  if (!error_.empty() || !j_.contains(key)) {
    return nullptr;
  }
  return &j_.at(key);
}

void MemoryReader::fail(const std::string& key, const std::string& problem) {
  if (error_.empty()) {
    error_ = path_ + "." + key + ": " + problem;
  }
}

void MemoryReader::number(const char* key, double& out, double min, double max) {
  const json* v = find(key);
  if (v == nullptr) {
    return;
  }
  if (!v->is_number() || !(v->get<double>() >= min && v->get<double>() <= max)) {
    std::ostringstream range;
    range << "expected a number from " << min << " to " << max;
    fail(key, range.str());
    return;
  }
  out = v->get<double>();
}

void MemoryReader::kibs(const char* key, std::vector<int64_t>& out, std::size_t keep) {
  const json* v = find(key);
  if (v == nullptr) {
    return;
  }
  const char* problem = "expected an array of sizes in KiB";
  if (!v->is_array()) {
    fail(key, problem);
    return;
  }
  std::vector<int64_t> read;
  for (const auto& x : *v) {
    if (!x.is_number_integer() || x.get<int64_t>() < 0 || x.get<int64_t>() > kMaxMemoryKib) {
      fail(key, problem);
      return;
    }
    read.push_back(x.get<int64_t>());
  }
  keepNewest(read, keep);
  out = std::move(read);
}

void MemoryReader::fractions(const char* key, std::deque<double>& out, std::size_t keep) {
  const json* v = find(key);
  if (v == nullptr) {
    return;
  }
  const char* problem = "expected an array of fractions";
  if (!v->is_array()) {
    fail(key, problem);
    return;
  }
  std::deque<double> read;
  for (const auto& x : *v) {
    if (!x.is_number() || !(x.get<double>() >= 0 && x.get<double>() <= 1)) {
      fail(key, problem);
      return;
    }
    read.push_back(x.get<double>());
  }
  keepNewest(read, keep);
  out = std::move(read);
}

void MemoryReader::each(const char* key,
                        const std::function<void(const std::string&, MemoryReader&)>& read) {
  const json* v = find(key);
  if (v == nullptr) {
    return;
  }
  if (!v->is_object()) {
    fail(key, "expected an object");
    return;
  }
  for (const auto& [name, value] : v->items()) {
    MemoryReader inner(value, path_ + "." + key + "." + name);
    read(name, inner);
    if (!inner.error_.empty()) {
      error_ = inner.error_;
      return;
    }
  }
}

Status MemoryReader::status() const {
  if (!error_.empty()) {
    return Error{error_};
  }
  return Ok{};
}

}  // namespace balloond::policy
