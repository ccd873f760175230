// SPDX-License-Identifier: Apache-2.0
#include "daemon/sim/workload.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace balloond::sim {
namespace {

using config::PhaseSpec;
using config::WorkloadSpec;
using Kind = PhaseSpec::Kind;

PhaseSpec constant(double mib, double duration_s) {
  PhaseSpec p;
  p.kind = Kind::kConstant;
  p.mib = mib;
  p.duration_s = duration_s;
  return p;
}

PhaseSpec ramp(double from, double to, double duration_s) {
  PhaseSpec p;
  p.kind = Kind::kRamp;
  p.from_mib = from;
  p.to_mib = to;
  p.duration_s = duration_s;
  return p;
}

PhaseSpec spike(double base, double peak, double at_s, double length_s, double duration_s) {
  PhaseSpec p;
  p.kind = Kind::kSpike;
  p.mib = base;
  p.peak_mib = peak;
  p.at_s = at_s;
  p.length_s = length_s;
  p.duration_s = duration_s;
  return p;
}

PhaseSpec periodic(double low, double high, double period_s, double duration_s) {
  PhaseSpec p;
  p.kind = Kind::kPeriodic;
  p.low_mib = low;
  p.high_mib = high;
  p.period_s = period_s;
  p.duration_s = duration_s;
  return p;
}

WorkloadSpec workload(std::vector<PhaseSpec> phases, bool repeat = false) {
  WorkloadSpec w;
  w.phases = std::move(phases);
  w.repeat = repeat;
  return w;
}

struct Case {
  double t_s;
  double want_mib;
};

// Checks the working set at each time in `cases`.
void expectLevels(const WorkloadSpec& w, const std::vector<Case>& cases) {
  for (const auto& c : cases) {
    EXPECT_NEAR(workingSetMib(w, c.t_s), c.want_mib, 1e-9) << "t=" << c.t_s;
  }
}

TEST(WorkloadTest, NoPhasesIsZero) {
  expectLevels(workload({}), {{0, 0}, {5, 0}, {1e6, 0}});
}

TEST(WorkloadTest, EachKindInSequence) {
  // constant [0,10), ramp [10,30), spike [30,40) with its peak at [35,37), periodic [40,56).
  const WorkloadSpec w = workload({constant(100, 10), ramp(100, 300, 20), spike(300, 500, 5, 2, 10),
                                   periodic(100, 300, 8, 16)});
  expectLevels(w, {
                      {-1, 100},                // before the start: the first level
                      {0, 100},                 // constant
                      {9.99, 100},  {10, 100},  // ramp starts at `from`
                      {15, 150},    {20, 200},  // half way
                      {29.9, 299},  {30, 300},  // spike phase, base level
                      {34.99, 300}, {35, 500},  // the spike, [at, at + length)
                      {36.99, 500}, {37, 300},  // back to base
                      {40, 100},                // periodic starts at low
                      {42, 200},                // quarter period: half way up
                      {44, 300},                // half period: high
                      {46, 200},    {48, 100},  // one full period: low again
                      {50, 200},    {56, 100},  // after the last phase: its final level holds
                      {1000, 100},
                  });
}

TEST(WorkloadTest, HoldsFinalLevelOfLastPhase) {
  expectLevels(workload({ramp(0, 400, 40)}), {{10, 100}, {40, 400}, {41, 400}, {1e6, 400}});
  // The last phase ends inside its spike: the peak is its final level.
  expectLevels(workload({spike(100, 300, 5, 10, 10)}), {{4, 100}, {5, 300}, {10, 300}, {99, 300}});
}

TEST(WorkloadTest, RepeatStartsOver) {
  const WorkloadSpec w = workload({constant(100, 10), ramp(200, 400, 10)}, /*repeat=*/true);
  expectLevels(w, {
                      {0, 100},
                      {10, 200},
                      {15, 300},
                      {19.5, 390},
                      {20, 100},  // second pass
                      {25, 100},
                      {35, 300},
                      {215, 300},  // eleventh pass, half way up the ramp
                  });
}

TEST(WorkloadTest, DurationZeroLastsForever) {
  const WorkloadSpec w = workload({constant(100, 10), constant(200, 0), constant(999, 5)});
  expectLevels(w, {{9, 100}, {10, 200}, {1e6, 200}});
  // Repeat never wraps past a phase that lasts forever.
  const WorkloadSpec r = workload({constant(100, 10), periodic(0, 100, 4, 0)}, /*repeat=*/true);
  expectLevels(r, {{10, 0}, {12, 100}, {1002, 0}, {1004, 100}});
}

TEST(WorkloadTest, DegenerateShapes) {
  // A ramp that lasts forever steps to `to`; a periodic phase without a period stays low.
  expectLevels(workload({ramp(100, 300, 0)}), {{0, 300}, {50, 300}});
  expectLevels(workload({periodic(50, 300, 0, 0)}), {{0, 50}, {3, 50}});
  // Negative levels count as 0.
  expectLevels(workload({ramp(100, -100, 10)}), {{5, 0}, {10, 0}});
}

}  // namespace
}  // namespace balloond::sim
