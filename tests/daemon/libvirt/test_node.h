// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <fmt/format.h>

#include <fstream>
#include <string>

namespace balloond::testing {

// Writes a libvirt test-driver node file with `count` running domains (vm0000, vm0001, ...):
// 2 GiB max, a virtio balloon with a 2 s stats period, every tenth one with a 512 MiB
// <min_guarantee>. Returns its absolute path, for the URI test:///PATH.
inline std::string writeTestNode(int count, const std::string& dir) {
  std::string path = dir + "/balloond-test-node-" + std::to_string(count) + ".xml";
  std::ofstream out(path);
  out << "<node>\n<cpu><nodes>1</nodes><sockets>1</sockets><cores>2</cores><threads>1</threads>"
         "<active>2</active><mhz>2000</mhz><model>x86_64</model></cpu>\n"
         "<memory>33554432</memory>\n";
  for (int i = 0; i < count; ++i) {
    out << "<domain type='test'><name>" << fmt::format("vm{:04}", i) << "</name>"
        << "<memory unit='KiB'>2097152</memory><currentMemory unit='KiB'>2097152</currentMemory>";
    if (i % 10 == 0) {
      out << "<memtune><min_guarantee unit='MiB'>512</min_guarantee></memtune>";
    }
    out << "<vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os>"
        << "<devices><memballoon model='virtio'><stats period='2'/></memballoon></devices>"
        << "</domain>\n";
  }
  out << "</node>\n";
  return path;
}

}  // namespace balloond::testing
