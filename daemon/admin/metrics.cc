// SPDX-License-Identifier: Apache-2.0
#include "daemon/admin/metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

namespace balloond {

namespace {

constexpr double kBytesPerKib = 1024;

const policy::AckState kAllStates[] = {
    policy::AckState::kSettled,       policy::AckState::kConverging, policy::AckState::kStuck,
    policy::AckState::kUncooperative, policy::AckState::kNoDriver,   policy::AckState::kStale,
    policy::AckState::kExcluded,
};

// Error kinds always exported, so a rate() over them starts at zero.
const char* const kErrorKinds[] = {"channel_read", "push"};

void header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

std::string number(double v) {
  return fmt::format("{}", v);
}

std::string bytes(int64_t kib) {
  return fmt::format("{}", kib * static_cast<int64_t>(kBytesPerKib));
}

}  // namespace

std::string escapeLabel(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::observe(double value) {
  const auto it = std::lower_bound(bounds_.begin(), bounds_.end(), value);
  ++counts_[static_cast<size_t>(it - bounds_.begin())];
  sum_ += value;
  ++count_;
}

std::string Histogram::render(std::string_view name) const {
  std::string out;
  int64_t cumulative = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += counts_[i];
    out += fmt::format("{}_bucket{{le=\"{}\"}} {}\n", name, number(bounds_[i]), cumulative);
  }
  out += fmt::format("{}_bucket{{le=\"+Inf\"}} {}\n", name, count_);
  out += fmt::format("{}_sum {}\n{}_count {}\n", name, number(sum_), name, count_);
  return out;
}

Metrics::Metrics()
    : tick_duration_(
          {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1}),
      ack_latency_({0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300}) {
  for (const char* kind : kErrorKinds) {
    errors_[kind] = 0;
  }
}

void Metrics::countError(const std::string& kind, int64_t n) {
  errors_[kind] += n;
}

void Metrics::observeTick(double duration_s, const TickReport& report,
                          const Controller& controller) {
  ++ticks_;
  tick_duration_.observe(duration_s);
  if (report.error) {
    countError("channel_read");
    return;
  }
  if (report.push_failures > 0) {
    countError("push", report.push_failures);
  }
  for (const auto& invalid : report.invalid_samples) {
    ++invalid_samples_[invalid];
  }
  target_changes_ += static_cast<int64_t>(report.changes.size());
  for (const auto& change : report.changes) {
    pending_acks_[change.vm] = report.time_s;
  }
  std::set<std::string> present;
  for (const auto& vm : controller.status()) {
    present.insert(vm.name);
    auto it = pending_acks_.find(vm.name);
    if (it != pending_acks_.end() && vm.state == policy::AckState::kSettled &&
        report.time_s > it->second) {
      ack_latency_.observe(report.time_s - it->second);
      pending_acks_.erase(it);
    }
  }
  std::erase_if(pending_acks_, [&](const auto& kv) { return !present.contains(kv.first); });
}

std::string Metrics::render(const Controller& controller) const {
  std::string out;
  const auto& vms = controller.status();
  const Snapshot& snap = controller.lastSnapshot();

  auto perVm = [&](std::string_view name, std::string_view help, auto value) {
    header(out, name, "gauge", help);
    for (const auto& vm : vms) {
      if (auto v = value(vm)) {
        out += fmt::format("{}{{vm=\"{}\"}} {}\n", name, escapeLabel(vm.name), bytes(*v));
      }
    }
  };
  perVm("balloond_vm_max_bytes", "Most memory the VM can have (its boot size).",
        [](const VmStatus& v) { return std::optional<int64_t>(v.max_kib); });
  perVm("balloond_vm_actual_bytes", "Memory the guest has now (balloon actual).",
        [](const VmStatus& v) { return std::optional<int64_t>(v.actual_kib); });
  perVm("balloond_vm_target_bytes", "The target the daemon last asked the guest for.",
        [](const VmStatus& v) { return std::optional<int64_t>(v.target_kib); });
  perVm("balloond_vm_available_bytes", "Memory available inside the guest, as it reports it.",
        [](const VmStatus& v) { return v.available_kib; });

  header(out, "balloond_vm_state", "gauge",
         "The VM's acknowledgement state: 1 for the state it is in, 0 for the others.");
  for (const auto& vm : vms) {
    for (auto s : kAllStates) {
      out += fmt::format("balloond_vm_state{{vm=\"{}\",state=\"{}\"}} {}\n", escapeLabel(vm.name),
                         policy::toString(s), vm.state == s ? 1 : 0);
    }
  }

  int64_t reclaimed_kib = 0;
  for (const auto& vm : vms) {
    reclaimed_kib += vm.max_kib - vm.actual_kib;
  }
  header(out, "balloond_host_total_bytes", "gauge", "The host's total memory.");
  out += fmt::format("balloond_host_total_bytes {}\n", bytes(snap.host.total_kib));
  header(out, "balloond_host_available_bytes", "gauge", "The host's available memory.");
  out += fmt::format("balloond_host_available_bytes {}\n", bytes(snap.host.available_kib));
  header(out, "balloond_host_reserve_bytes", "gauge",
         "The host reserve (guards.host_reserve_mib): growth never takes host available below it.");
  out += fmt::format("balloond_host_reserve_bytes {}\n",
                     bytes(controller.settings().guards.host_reserve_kib));
  header(out, "balloond_reclaimed_bytes", "gauge",
         "Memory the balloons hold now: the sum over VMs of max minus actual.");
  out += fmt::format("balloond_reclaimed_bytes {}\n", bytes(reclaimed_kib));
  header(out, "balloond_paused", "gauge", "1 while target changes are paused by an operator.");
  out += fmt::format("balloond_paused {}\n", controller.paused() ? 1 : 0);

  header(out, "balloond_ticks_total", "counter", "Control ticks run.");
  out += fmt::format("balloond_ticks_total {}\n", ticks_);
  header(out, "balloond_target_changes_total", "counter", "Targets pushed to guests.");
  out += fmt::format("balloond_target_changes_total {}\n", target_changes_);
  header(out, "balloond_errors_total", "counter", "Errors, by kind.");
  for (const auto& [kind, n] : errors_) {
    out += fmt::format("balloond_errors_total{{kind=\"{}\"}} {}\n", escapeLabel(kind), n);
  }
  header(out, "balloond_invalid_samples_total", "counter",
         "Samples whose guest stats failed the consistency check (withheld from the policy), "
         "by VM and problem.");
  for (const auto& [key, n] : invalid_samples_) {
    out += fmt::format("balloond_invalid_samples_total{{vm=\"{}\",reason=\"{}\"}} {}\n",
                       escapeLabel(key.first), escapeLabel(key.second), n);
  }
  header(out, "balloond_tick_duration_seconds", "histogram",
         "Wall time one control tick took (read, decide, guard, push).");
  out += tick_duration_.render("balloond_tick_duration_seconds");
  header(out, "balloond_ack_latency_seconds", "histogram",
         "Time from pushing a target to the guest settling on it.");
  out += ack_latency_.render("balloond_ack_latency_seconds");
  return out;
}

}  // namespace balloond
