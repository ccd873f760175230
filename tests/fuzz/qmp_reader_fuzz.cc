// SPDX-License-Identifier: Apache-2.0
// The QMP reader: any byte stream from a QEMU socket, cut into reads of any size, splits into
// lines, classifies into messages and feeds every reply parser, and never crashes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "daemon/qmp/reader.h"
#include "daemon/qmp/replies.h"

namespace {

// Runs every parser of a `return` value on one message's value, as the channel might.
void parseAsEveryReply(const balloond::qmp::Message& message) {
  namespace qmp = balloond::qmp;
  (void)qmp::actualFromQueryBalloon(message.value);
  (void)qmp::maxFromMemorySummary(message.value);
  (void)qmp::nameFromQueryName(message.value);
  (void)qmp::balloonIn(message.value, "/machine/peripheral");
  (void)qmp::guestStatsFromQom(message.value);
  (void)qmp::pollingIntervalFromQom(message.value);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  // The first byte chooses how the stream is cut into socket reads (1 to 256 bytes each).
  const std::size_t chunk = std::size_t{data[0]} + 1;
  const std::string stream(data + 1, data + size);
  balloond::qmp::LineReader reader;
  for (std::size_t at = 0; at < stream.size(); at += chunk) {
    reader.append(stream.substr(at, chunk));
    while (true) {
      auto line = reader.next();
      if (!line || !line->has_value()) {
        break;
      }
      auto message = balloond::qmp::parseMessage(**line);
      if (message) {
        parseAsEveryReply(*message);
      }
    }
    if (reader.failed()) {
      break;
    }
  }
  (void)balloond::qmp::nameFromSocketPath(stream);
  return 0;
}
