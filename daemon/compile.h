// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>
#include <string>

#include "config/spec.h"
#include "daemon/channel.h"
#include "daemon/controller.h"
#include "policy/policy.h"
#include "proto/result.h"

namespace balloond {

// Opens the channel a configuration names. The process has one that knows every channel type;
// compile() calls exactly one of these, after checking everything else in the configuration.
class ChannelOpener {
 public:
  virtual ~ChannelOpener() = default;
  virtual Result<std::unique_ptr<Channel>> openSim(const config::SimHostSpec& spec) = 0;
  virtual Result<std::unique_ptr<Channel>> openLibvirt(const config::LibvirtSpec& spec) = 0;
  virtual Result<std::unique_ptr<Channel>> openQmp(const config::QmpSpec& spec) = 0;
};

// The running parts one configuration compiles to.
struct Compiled {
  std::unique_ptr<Channel> channel;  // only when compiled with an opener
  std::unique_ptr<policy::Policy> policy;
  ControllerSettings settings;  // guards, acks, and what gives each VM its limits
  std::string state_dir;        // where state.json lives; empty: no state file
};

// The one compile step (config -> plain structs -> compile): builds the policy from the
// registry, converts the settings the controller acts on, resolves the state directory's default,
// and, given an opener, opens the channel. Start, reload, --evaluate and scenarios all call it;
// nothing else compares channel types or builds a policy. Errors name the config file and key;
// nothing is half-built on failure.
Result<Compiled> compile(const config::Config& config, ChannelOpener* opener = nullptr);

}  // namespace balloond
