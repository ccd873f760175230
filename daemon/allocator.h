// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <malloc.h>

namespace balloond {

// Sets glibc's allocator up for a loop that allocates about the same every tick. Called once at
// start by balloond and by the benchmarks, so both measure the same process.
inline void tuneAllocatorForTicks() {
  // glibc gives freed memory at the top of the heap back to the kernel once it passes the trim
  // threshold, and maps large blocks afresh each time. A tick over thousands of VMs frees a few
  // hundred KiB of vectors and allocates them again the next tick: every one of those pages was
  // faulted in again, and the faults cost more than the tick's own work (perf: 20-27 % kernel time
  // at 10,000 VMs). Keep up to 16 MiB of freed heap, and map only blocks above 4 MiB (fixed
  // thresholds also end glibc's sliding adjustment, so the behaviour is the same every run).
  constexpr int kTrimThreshold = 16 << 20;
  constexpr int kMmapThreshold = 4 << 20;
  mallopt(M_TRIM_THRESHOLD, kTrimThreshold);
  mallopt(M_MMAP_THRESHOLD, kMmapThreshold);
}

}  // namespace balloond
