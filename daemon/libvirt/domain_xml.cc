// SPDX-License-Identifier: Apache-2.0
#include "daemon/libvirt/domain_xml.h"

#include <cctype>
#include <charconv>
#include <string_view>

namespace balloond::libvirt {
namespace {

// The opening tag `<name ...>` or `<name .../>` starting at or after `from`; npos if none.
size_t findTag(std::string_view xml, std::string_view name, size_t from = 0) {
  for (size_t at = xml.find('<', from); at != std::string_view::npos; at = xml.find('<', at + 1)) {
    if (xml.compare(at + 1, name.size(), name) != 0) {
      continue;
    }
    const size_t after = at + 1 + name.size();
    if (after < xml.size() && (std::isspace(static_cast<unsigned char>(xml[after])) != 0 ||
                               xml[after] == '>' || xml[after] == '/')) {
      return at;
    }
  }
  return std::string_view::npos;
}

// The tag text from '<' to the matching '>'.
std::string_view tagAt(std::string_view xml, size_t at) {
  const size_t end = xml.find('>', at);
  return xml.substr(at, end == std::string_view::npos ? std::string_view::npos : end - at + 1);
}

// The value of attribute `name` in a tag, quoted with ' or ".
std::optional<std::string_view> attr(std::string_view tag, std::string_view name) {
  for (size_t at = tag.find(name); at != std::string_view::npos; at = tag.find(name, at + 1)) {
    const size_t eq = at + name.size();
    if (at == 0 || std::isspace(static_cast<unsigned char>(tag[at - 1])) == 0 ||
        eq + 1 >= tag.size() || tag[eq] != '=') {
      continue;
    }
    const char quote = tag[eq + 1];
    const size_t end = tag.find(quote, eq + 2);
    if ((quote != '\'' && quote != '"') || end == std::string_view::npos) {
      return std::nullopt;
    }
    return tag.substr(eq + 2, end - eq - 2);
  }
  return std::nullopt;
}

std::optional<int64_t> toInt(std::string_view s) {
  int64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) {
    return std::nullopt;
  }
  return v;
}

// KiB in one `unit` of libvirt's memory units (scaled integers); 0 for an unknown unit.
double kibPerUnit(std::string_view unit) {
  if (unit.empty() || unit == "KiB" || unit == "k" || unit == "K") return 1;
  if (unit == "b" || unit == "bytes") return 1.0 / 1024;
  if (unit == "KB") return 1000.0 / 1024;
  if (unit == "MiB" || unit == "M" || unit == "m") return 1024;
  if (unit == "MB") return 1e6 / 1024;
  if (unit == "GiB" || unit == "G" || unit == "g") return 1024.0 * 1024;
  if (unit == "GB") return 1e9 / 1024;
  if (unit == "TiB" || unit == "T" || unit == "t") return 1024.0 * 1024 * 1024;
  if (unit == "TB") return 1e12 / 1024;
  return 0;
}

}  // namespace

DomainFacts parseDomainXml(const std::string& text) {
  const std::string_view xml = text;
  DomainFacts facts;

  const size_t balloon = findTag(xml, "memballoon");
  if (balloon != std::string_view::npos) {
    const std::string_view tag = tagAt(xml, balloon);
    facts.has_balloon = attr(tag, "model").value_or("none") != "none";
    const bool self_closed = tag.size() >= 2 && tag[tag.size() - 2] == '/';
    const size_t close = xml.find("</memballoon>", balloon);
    const size_t stats = findTag(xml, "stats", balloon);
    if (!self_closed && stats != std::string_view::npos && stats < close) {
      if (auto period = attr(tagAt(xml, stats), "period")) {
        if (auto v = toInt(*period)) {
          facts.stats_period_s = static_cast<int>(*v);
        }
      }
    }
  }

  const size_t memtune = findTag(xml, "memtune");
  const size_t guarantee =
      findTag(xml, "min_guarantee", memtune == std::string_view::npos ? 0 : memtune);
  if (memtune != std::string_view::npos && guarantee != std::string_view::npos &&
      guarantee < xml.find("</memtune>", memtune)) {
    const std::string_view tag = tagAt(xml, guarantee);
    const size_t start = guarantee + tag.size();
    const size_t end = xml.find('<', start);
    if (end != std::string_view::npos) {
      if (auto v = toInt(xml.substr(start, end - start))) {
        facts.min_guarantee_kib = static_cast<int64_t>(static_cast<double>(*v) *
                                                       kibPerUnit(attr(tag, "unit").value_or("")));
      }
    }
  }

  facts.passthrough = findTag(xml, "hostdev") != std::string_view::npos;
  for (size_t at = findTag(xml, "interface"); at != std::string_view::npos && !facts.passthrough;
       at = findTag(xml, "interface", at + 1)) {
    facts.passthrough = attr(tagAt(xml, at), "type") == "hostdev";
  }
  return facts;
}

}  // namespace balloond::libvirt
