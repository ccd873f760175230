// SPDX-License-Identifier: Apache-2.0
#include "config/loader.h"

#include "config/daemon_grammar.h"
#include "config/yaml_reader.h"

namespace balloond::config {

Result<Config> parseConfig(const std::string& text, const std::string& source) {
  Config config;
  config.source = source;
  auto status = readDocument(text, source, [&](const Val& root) -> Status {
    DaemonGrammar grammar(source);
    if (!grammar.config(root, config)) return grammar.error();
    return Ok{};
  });
  if (!status) return status.error();
  return config;
}

Result<Config> loadConfigFile(const std::string& path, const FileCheck& check) {
  auto text = readFile(path, check);
  if (!text) {
    return text.error();
  }
  return parseConfig(*text, path);
}

}  // namespace balloond::config
