// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>

#include "config/spec.h"
#include "config/yaml_reader.h"
#include "daemon/controller.h"
#include "proto/control.h"
#include "proto/result.h"

namespace balloond {

// What the commands may ask of the running daemon. Daemon implements it; tests use a fake.
class DaemonAccess {
 public:
  virtual ~DaemonAccess() = default;
  virtual Controller& controller() = 0;
  virtual const config::Config& config() const = 0;
  // Version, uptime, channel and tick timing; the commands add host and VM figures.
  virtual control::DaemonInfo info() const = 0;
  // The one reload path (SIGHUP, config-test, config-reload): loads `path` (empty: the running
  // file), builds and checks it, and swaps it in when `apply`; on failure the old one stays.
  // `check` (may be null) may refuse the opened file before it is read.
  virtual Status reload(const std::string& path, bool apply, const config::FileCheck& check) = 0;
};

}  // namespace balloond
