// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "daemon/admin/peer.h"
#include "proto/result.h"

namespace balloond {

// The peer's groups: its primary gid and the supplementary groups of its user (empty user
// lookup: the primary gid only).
std::vector<gid_t> peerGroups(const Peer& peer);

// Whether `peer` could read the opened file `fd` (named `path`) by itself, so that config-test
// never reads for a user what that user could not: root always may; anyone else by the file's
// owner, group or other read bit against its uid and groups, with search permission on every
// directory above the file. A file with an access ACL is read only for its owner (the mode bits
// do not tell the rest). The Error names the file and the uid, never the content.
Status peerMayRead(const Peer& peer, const std::vector<gid_t>& groups, int fd,
                   const std::string& path);

// `text` with every quoted part ('...' or "...") replaced by '...'.
std::string withoutQuotes(std::string_view text);

// A config error ("FILE:LINE:COL: key.path: problem") as a non-root peer may see it: the
// position stays, a key path stays only if it is in the key table (else "..."), and every quoted
// part becomes '...', so nothing read from the file is echoed.
std::string redactedForPeer(std::string_view message, std::string_view source);

}  // namespace balloond
