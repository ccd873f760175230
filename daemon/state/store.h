// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <optional>
#include <string>

#include "daemon/state/codec.h"
#include "proto/result.h"

namespace balloond {

// What loading the state file found.
struct LoadedState {
  std::optional<PersistedState> state;  // nullopt: no file, or it was moved aside
  std::string moved_aside;              // where a corrupt or unreadable file went; empty if none
  std::string warning;                  // why it was moved aside
};

// The state file, `state.json` in the state directory. Reads never fail: a missing file is a
// fresh start, a corrupt or unreadable one is renamed to state.json.corrupt-<unix time> with a
// warning. Writes are atomic: a temporary file in the same directory, fsync, rename, fsync of
// the directory; a failed write leaves the old file as it was and returns the error.
class StateStore {
 public:
  explicit StateStore(std::string dir);

  const std::string& path() const { return path_; }
  LoadedState load() const;
  Status save(const PersistedState& state) const;

 private:
  std::string dir_;
  std::string path_;
};

}  // namespace balloond
