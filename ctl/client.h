// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <string>

#include "proto/control.h"
#include "proto/result.h"

namespace balloond::ctl {

// Why a request got no answer: each maps to its own exit code in balloonctl.
enum class Failure {
  kNoSocket,          // nothing at the path, or nobody listening
  kPermissionDenied,  // the socket exists but we may not connect
  kNoAnswer,          // connected, but no (valid) answer in time
};

struct ClientError {
  Failure failure;
  std::string message;
};

// One request and its answer over the control socket, with a deadline for the whole exchange.
// Used by balloonctl and the tests; blocking, one connection per call.
class Client {
 public:
  Client(std::string socket_path, std::chrono::milliseconds timeout)
      : path_(std::move(socket_path)), timeout_(timeout) {}

  // The daemon's answer, or why there was none (in `error`).
  Result<control::Response> call(const control::Request& request);
  [[nodiscard]] const ClientError& lastError() const { return error_; }

 private:
  std::string path_;
  std::chrono::milliseconds timeout_;
  ClientError error_{Failure::kNoAnswer, ""};
};

}  // namespace balloond::ctl
