// SPDX-License-Identifier: Apache-2.0
#include "daemon/admin/metrics.h"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include "daemon/compile.h"
#include "tests/daemon/fake_channel.h"

namespace balloond {
namespace {

TEST(HistogramTest, BucketsAreCumulativeWithSumAndCount) {
  Histogram h({0.1, 1});
  h.observe(0.05);
  h.observe(0.1);  // le is inclusive
  h.observe(0.5);
  h.observe(7);
  EXPECT_EQ(h.render("x_seconds"),
            "x_seconds_bucket{le=\"0.1\"} 2\n"
            "x_seconds_bucket{le=\"1\"} 3\n"
            "x_seconds_bucket{le=\"+Inf\"} 4\n"
            "x_seconds_sum 7.65\n"
            "x_seconds_count 4\n");
}

TEST(MetricsTest, LabelValuesAreEscaped) {
  EXPECT_EQ(escapeLabel("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
}

TEST(MetricsTest, ExportsPerVmGaugesErrorsAndAckLatency) {
  spdlog::set_level(spdlog::level::off);
  testing::FakeChannel channel;
  channel.setHost(10, 16384, 8192);
  channel.addVm("idle", 2048, 2048, 1800);
  config::Config config;
  config.policy.name = "margin";
  config.policy.params["peak_window_s"] = 0;  // the rule alone, from the first report
  auto compiled = compile(config);
  Controller c(channel, std::move(compiled->policy), std::move(compiled->settings));
  Metrics m;

  TickReport r = c.tick();  // idle is asked to shrink by one step
  ASSERT_EQ(r.changes.size(), 1U);
  m.observeTick(0.002, r, c);

  // Three seconds later it has arrived: settled, so the ack latency is 3 s. Its next step is
  // pushed in the same tick; paused, it stays put.
  c.setPaused(true);
  channel.snapshot.time_s = 13;
  channel.snapshot.vms[0].actual_kib = r.changes[0].to_kib;
  channel.snapshot.vms[0].guest.last_update_s = 13;
  m.observeTick(0.001, c.tick(), c);

  channel.fail_read = true;
  m.observeTick(0.0001, c.tick(), c);

  const std::string text = m.render(c);
  auto has = [&](const std::string& line) {
    EXPECT_NE(text.find(line + "\n"), std::string::npos) << "missing: " << line << "\n" << text;
  };
  has("# TYPE balloond_vm_actual_bytes gauge");
  has("balloond_vm_actual_bytes{vm=\"idle\"} " + std::to_string(r.changes[0].to_kib * 1024));
  has("balloond_vm_max_bytes{vm=\"idle\"} 2147483648");
  has("balloond_vm_state{vm=\"idle\",state=\"settled\"} 1");
  has("balloond_vm_state{vm=\"idle\",state=\"converging\"} 0");
  has("balloond_host_available_bytes 8589934592");
  has("balloond_host_reserve_bytes " + std::to_string(c.settings().guards.host_reserve_kib * 1024));
  has("balloond_reclaimed_bytes " + std::to_string((mibToKib(2048) - r.changes[0].to_kib) * 1024));
  has("balloond_errors_total{kind=\"channel_read\"} 1");
  has("balloond_errors_total{kind=\"push\"} 0");
  has("balloond_paused 1");
  has("balloond_ticks_total 3");
  has("# TYPE balloond_ack_latency_seconds histogram");
  has("balloond_ack_latency_seconds_bucket{le=\"2\"} 0");
  has("balloond_ack_latency_seconds_bucket{le=\"5\"} 1");
  has("balloond_ack_latency_seconds_count 1");
  has("balloond_tick_duration_seconds_count 3");
}

// A sample that fails the stats check is counted by VM and problem, every tick it fails.
TEST(MetricsTest, CountsInvalidSamplesByVmAndProblem) {
  spdlog::set_level(spdlog::level::off);
  testing::FakeChannel channel;
  channel.setHost(10, 16384, 8192);
  channel.addVm("liar", 2048, 2048, 1800).guest.total_kib = mibToKib(1000);
  channel.addVm("honest", 2048, 2048, 1800);
  config::Config config;
  config.policy.name = "margin";
  config.policy.params["peak_window_s"] = 0;  // the rule alone, from the first report
  auto compiled = compile(config);
  Controller c(channel, std::move(compiled->policy), std::move(compiled->settings));
  Metrics m;
  m.observeTick(0.001, c.tick(), c);
  channel.snapshot.time_s = 11;
  m.observeTick(0.001, c.tick(), c);
  const std::string text = m.render(c);
  EXPECT_NE(text.find("# TYPE balloond_invalid_samples_total counter\n"), std::string::npos);
  EXPECT_NE(
      text.find("balloond_invalid_samples_total{vm=\"liar\",reason=\"available-above-total\"} 2\n"),
      std::string::npos)
      << text;
  EXPECT_EQ(text.find("balloond_invalid_samples_total{vm=\"honest\""), std::string::npos);
}

}  // namespace
}  // namespace balloond
