// SPDX-License-Identifier: Apache-2.0
// The control socket's request path, as a peer reaches it: one line into the dispatcher (the
// envelope's parser, argument checks, permission, every command) against a real controller on a
// fake channel. The first byte picks the peer: read-only member or admin.
#include <spdlog/spdlog.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "daemon/admin/commands.h"
#include "daemon/compile.h"
#include "tests/daemon/fake_channel.h"

namespace {

using namespace balloond;  // NOLINT(google-build-using-namespace): a fuzz target's glue

class FuzzDaemon : public DaemonAccess {
 public:
  FuzzDaemon() {
    config_.source = "fuzz.yaml";
    channel_.setHost(10, 16384, 8192);
    channel_.addVm("idle", 2048, 2048, 1800);
    channel_.addVm("busy", 2048, 2048, 400);
    auto compiled = compile(config_);
    controller_ = std::make_unique<Controller>(channel_, std::move(compiled->policy),
                                               std::move(compiled->settings));
    controller_->tick();
  }
  Controller& controller() override { return *controller_; }
  const config::Config& config() const override { return config_; }
  control::DaemonInfo info() const override { return {}; }
  Status reload(const std::string& /*path*/, bool /*apply*/,
                const config::FileCheck& /*check*/) override {
    return Ok{};
  }

 private:
  config::Config config_;
  testing::FakeChannel channel_;
  std::unique_ptr<Controller> controller_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool quiet = (spdlog::set_level(spdlog::level::off), true);
  (void)quiet;
  if (size == 0) {
    return 0;
  }
  FuzzDaemon daemon;
  Dispatcher dispatcher(daemon);
  const Peer peer{
      .uid = (data[0] & 1) != 0 ? 0 : 1000, .gid = 1000, .pid = 1, .admin = (data[0] & 1) != 0};
  const std::string line(data + 1, data + size);
  const std::string answer = dispatcher.handleLine(line, peer);
  if (answer.empty() || answer.back() != '\n') {
    __builtin_trap();  // every request gets exactly one answer line
  }
  return 0;
}
