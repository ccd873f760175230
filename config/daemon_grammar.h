// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "config/keys.h"
#include "config/spec.h"
#include "config/yaml_reader.h"

namespace balloond::config {

// The daemon config's grammar: one method per section of config/spec.h, each checking its keys,
// types and the checks between keys; numeric ranges come from the key table (config/keys.h).
// The loader reads a whole Config with it; the scenario grammar derives from it and reuses the
// sections a scenario shares (simulated VMs, policy, guards, acks).
class DaemonGrammar : public YamlReader {
 public:
  using YamlReader::YamlReader;

  bool config(const Val& v, Config& c);

 protected:
  // A numeric key of `section` ("guards", "channel.sim.vms[]"; "" at the top), with the range the
  // key table gives `section.key`.
  template <typename T>  // double or std::optional<double>
  Field key(std::string_view section, std::string_view key, T& out, bool required = false) {
    const std::string path =
        section.empty() ? std::string(key) : std::string(section) + "." + std::string(key);
    return num(key, out, keyRange(path), required);
  }

  bool simVm(const Val& v, SimVmSpec& vm, std::set<std::string>& names,
             const std::vector<Field>& extra = {});
  bool workload(const Val& v, WorkloadSpec& w);
  // Appends the sections a daemon config and a scenario share, in this order: policy (noting in
  // `have_policy` that it was given), guards, acks.
  void addDecisionSections(std::vector<Field>& fields, Config& c, bool& have_policy);
  bool policy(const Val& v, PolicySpec& p);
  // Checks the policy's name and parameters through the policy registry.
  bool checkPolicy(const Val& v, const PolicySpec& p);
  bool guards(const Val& v, GuardSpec& g);
  bool acks(const Val& v, AckSpec& a);

 private:
  bool channel(const Val& v, ChannelSpec& c);
  bool libvirt(const Val& v, LibvirtSpec& l);
  bool libvirtUri(const Val& v, const std::string& uri);
  bool qmp(const Val& v, QmpSpec& q);
  bool qmpSocket(const Val& v, QmpSocketSpec& s);
  // The stats period of a channel section `v` (libvirt, qmp): whole seconds, since `hypervisor`
  // takes no fraction, and at least 1 when balloond turns it on.
  bool statsPeriod(const Val& v, bool set_stats_period, double stats_period_s,
                   std::string_view hypervisor);
  // channel.qmp.deadline_s below tick_s, once the whole document is read (either may come
  // first): with type qmp, and wherever the deadline is written.
  bool qmpDeadline(const Val& root, const Config& c);
  bool sim(const Val& v, SimHostSpec& s);
  bool phase(const Val& v, PhaseSpec& p, bool last);
  bool driver(const Val& v, DriverSpec& d);
  bool vmOverride(const Val& v, VmOverrideSpec& o);
  bool control(const Val& v, ControlSpec& c);
  bool metrics(const Val& v, MetricsSpec& m);
};

}  // namespace balloond::config
