// SPDX-License-Identifier: Apache-2.0
#include "policy/registry.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <sstream>

namespace balloond::policy {

Registry& Registry::instance() {
  static Registry registry;
  return registry;
}

Status Registry::add(PolicyEntry entry) {
  if (find(entry.name) != nullptr) {
    return Error{"policy '" + entry.name + "' is registered twice"};
  }
  entries_.push_back(std::move(entry));
  return Ok{};
}

const PolicyEntry* Registry::find(const std::string& name) const {
  auto it = std::find_if(entries_.begin(), entries_.end(),
                         [&](const PolicyEntry& e) { return e.name == name; });
  return it == entries_.end() ? nullptr : &*it;
}

std::vector<std::string> Registry::names() const {
  std::vector<std::string> out;
  out.reserve(entries_.size());
  for (const auto& e : entries_) {
    out.push_back(e.name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

namespace {

std::string joined(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) {
    out += (out.empty() ? "" : ", ") + w;
  }
  return out;
}

std::string number(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

}  // namespace

Result<ParamValues> Registry::resolveParams(const std::string& name,
                                            const std::map<std::string, double>& given) const {
  const PolicyEntry* entry = find(name);
  if (entry == nullptr) {
    return Error{"unknown policy '" + name + "' (known: " + joined(names()) + ")"};
  }
  ParamValues values;
  for (const auto& p : entry->params) {
    values[p.name] = p.default_value;
  }
  for (const auto& given_param : given) {
    const std::string& key = given_param.first;
    const double value = given_param.second;
    auto it = std::find_if(entry->params.begin(), entry->params.end(),
                           [&key](const ParamInfo& p) { return p.name == key; });
    if (it == entry->params.end()) {
      std::vector<std::string> known;
      for (const auto& p : entry->params) {
        known.push_back(p.name);
      }
      return Error{std::string("unknown parameter '")
                       .append(key)
                       .append("' for policy '")
                       .append(name)
                       .append("' (known: ")
                       .append(joined(known))
                       .append(")")};
    }
    if (!std::isfinite(value) || value < it->min || value > it->max) {
      return Error{std::string("parameter '")
                       .append(key)
                       .append("' of policy '")
                       .append(name)
                       .append("' must be between ")
                       .append(number(it->min))
                       .append(" and ")
                       .append(number(it->max))
                       .append(", got ")
                       .append(number(value))};
    }
    values[key] = value;
  }
  return values;
}

Result<std::unique_ptr<Policy>> Registry::create(const std::string& name,
                                                 const std::map<std::string, double>& given) const {
  auto values = resolveParams(name, given);
  if (!values) {
    return values.error();
  }
  return find(name)->make(*values);
}

Registration::Registration(PolicyEntry entry) {
  auto status = Registry::instance().add(std::move(entry));
  if (!status) {
    // Two built-ins with one name is a programming error found at start-up, never at run time.
    std::abort();
  }
}

}  // namespace balloond::policy
