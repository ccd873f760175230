// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <string>

#include "daemon/channel.h"
#include "daemon/sim/host.h"

namespace balloond {

// The channel to the built-in simulated host: reads its snapshot, pushes targets to its drivers.
// It does not own the host; whoever drives the host's clock (scenario runner, demo) does.
class SimChannel : public Channel {
 public:
  explicit SimChannel(sim::SimHost& host) : host_(host) {}

  [[nodiscard]] std::string name() const override { return "sim"; }
  Result<Snapshot> read() override;
  Status push(const std::string& vm, int64_t target_kib) override;

 private:
  sim::SimHost& host_;
};

}  // namespace balloond
