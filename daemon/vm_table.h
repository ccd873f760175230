// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <vector>

#include "daemon/controller.h"

namespace balloond {

// The live per-VM view: a fixed-width table of every VM's sizes, state and the reason for its
// last target change, under a one-line host summary. Printed each tick by `balloond --view`.
std::string renderVmTable(const Snapshot& snapshot, const std::vector<VmStatus>& vms);

}  // namespace balloond
