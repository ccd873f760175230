// SPDX-License-Identifier: Apache-2.0
// balloond: decides every tick how much memory each VM should have, and pushes it to the guests'
// balloon drivers. This file only parses flags and hands over to Daemon.

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "config/keys.h"
#include "config/loader.h"
#include "config/scenario.h"
#include "daemon/allocator.h"
#include "daemon/daemon.h"
#include "daemon/evaluate.h"
#include "daemon/sim/scenario_runner.h"
#include "policy/registry.h"
#include "proto/codec.h"

namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;  // bad flags, missing or invalid config
constexpr const char* kDefaultConfig = "/etc/balloond/balloond.yaml";

// One command-line flag, for parsing and for --help.
struct Flag {
  const char* name;
  const char* arg;  // nullptr: takes no value
  const char* help;
};

constexpr Flag kFlags[] = {
    {"--config", "PATH", "configuration file (default /etc/balloond/balloond.yaml)"},
    {"--view", nullptr, "print the per-VM table every tick, and a summary on exit"},
    {"--duration", "SECONDS",
     "stop after this many seconds (virtual seconds with --virtual-clock)"},
    {"--virtual-clock", nullptr,
     "simulated host only: run ticks back to back, faster than real time"},
    {"--check-config", nullptr, "validate the configuration, print the result and exit"},
    {"--scenario", "FILE", "play a scenario file on the simulated host; exit 0 if it holds"},
    {"--list-policies", nullptr, "list the built-in policies and their parameters, then exit"},
    {"--config-keys", nullptr,
     "list every configuration key with its range, default and help, then exit"},
    {"--evaluate", "SNAPSHOT",
     "print the policy's decisions for a snapshot or state dump as JSON, then exit; uses "
     "--config only when given"},
    {"--dump-path", "PATH",
     "where SIGUSR1 writes the state dump (default /run/balloond/snapshot.json if writable, "
     "else ./balloond-snapshot.json)"},
    {"--log-level", "LEVEL", "trace, debug, info (default), warn, error or off"},
    {"--version", nullptr, "print the version and exit"},
    {"--help", nullptr, "print this help and exit"},
};

void printHelp() {
  std::printf(
      "usage: balloond [FLAGS]\n\n"
      "Host-side memory balloon controller: reads every VM's balloon statistics each tick,\n"
      "decides a target size per VM with the configured policy and guards, and pushes it.\n\n"
      "flags:\n");
  for (const Flag& f : kFlags) {
    std::string left = std::string(f.name) + (f.arg != nullptr ? std::string(" ") + f.arg : "");
    std::printf("  %-24s %s\n", left.c_str(), f.help);
  }
  std::printf(
      "\nsignals: SIGINT and SIGTERM stop cleanly; SIGHUP reloads the configuration (a bad\n"
      "file is reported and the running configuration is kept); SIGUSR1 writes the current\n"
      "snapshot, targets and policy history to the dump path (see --dump-path).\n"
      "exit status: 0 success, 1 runtime failure, 2 bad flags or configuration.\n");
}

void printPolicies() {
  const auto& registry = balloond::policy::Registry::instance();
  for (const auto& name : registry.names()) {
    const auto* entry = registry.find(name);
    std::printf("%s: %s\n", name.c_str(), entry->summary.c_str());
    for (const auto& p : entry->params) {
      std::printf("  %-20s default %-8g range %g..%g  %s\n", p.name.c_str(), p.default_value, p.min,
                  p.max, p.help.c_str());
    }
  }
}

struct Args {
  std::string config = kDefaultConfig;
  bool config_given = false;
  std::optional<std::string> evaluate;
  balloond::DaemonOptions options;
  bool check_config = false;
  std::optional<std::string> scenario;
  std::optional<std::string> log_level;
};

int usageError(const std::string& message) {
  std::fprintf(stderr, "balloond: %s (see --help)\n", message.c_str());
  return kExitUsage;
}

// Parses argv; returns an exit code when the program should stop right away.
std::optional<int> parseArgs(const std::vector<std::string_view>& argv, Args& args) {
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string_view a = argv[i];
    auto value = [&]() -> std::optional<std::string> {
      if (i + 1 >= argv.size()) {
        return std::nullopt;
      }
      return std::string(argv[++i]);
    };
    if (a == "--help" || a == "-h") {
      printHelp();
      return kExitOk;
    }
    if (a == "--version") {
      std::printf("balloond %s\n", BALLOOND_VERSION);
      return kExitOk;
    }
    if (a == "--list-policies") {
      printPolicies();
      return kExitOk;
    }
    if (a == "--config-keys") {
      std::fputs(balloond::config::keyTable().c_str(), stdout);
      return kExitOk;
    }
    if (a == "--view") {
      args.options.view = true;
    } else if (a == "--virtual-clock") {
      args.options.virtual_clock = true;
    } else if (a == "--check-config") {
      args.check_config = true;
    } else if (a == "--config" || a == "-c" || a == "--log-level" || a == "--duration" ||
               a == "--evaluate" || a == "--dump-path" || a == "--scenario") {
      auto v = value();
      if (!v) {
        return usageError(std::string(a) + " needs a value");
      }
      if (a == "--duration") {
        char* end = nullptr;
        const double d = std::strtod(v->c_str(), &end);
        if (end == v->c_str() || *end != '\0' || !(d > 0)) {
          return usageError("--duration: expected a positive number of seconds, got '" + *v + "'");
        }
        args.options.duration_s = d;
      } else if (a == "--log-level") {
        args.log_level = *v;
      } else if (a == "--evaluate") {
        args.evaluate = *v;
      } else if (a == "--dump-path") {
        args.options.dump_path = *v;
      } else if (a == "--scenario") {
        args.scenario = *v;
      } else {
        args.config = *v;
        args.config_given = true;
      }
    } else {
      return usageError("unknown flag '" + std::string(a) + "'");
    }
  }
  return std::nullopt;
}

// `--evaluate`: one decision per VM for a dumped state, printed as JSON. No hypervisor.
int evaluate(const Args& args) {
  std::ifstream in(*args.evaluate);
  if (!in) {
    std::fprintf(stderr, "balloond: %s: cannot read\n", args.evaluate->c_str());
    return kExitUsage;
  }
  std::stringstream text;
  text << in.rdbuf();
  const auto json = nlohmann::json::parse(text.str(), nullptr, false);
  if (json.is_discarded()) {
    std::fprintf(stderr, "balloond: %s: not valid JSON\n", args.evaluate->c_str());
    return kExitUsage;
  }
  auto dump = balloond::stateDumpFromJson(json);
  if (!dump) {
    std::fprintf(stderr, "balloond: %s: %s\n", args.evaluate->c_str(),
                 dump.error().message.c_str());
    return kExitUsage;
  }
  balloond::config::Config config;  // the built-in defaults, unless a file is named
  if (args.config_given) {
    auto loaded = balloond::config::loadConfigFile(args.config);
    if (!loaded) {
      std::fprintf(stderr, "balloond: %s\n", loaded.error().message.c_str());
      return kExitUsage;
    }
    config = std::move(*loaded);
  }
  auto result = balloond::evaluateDump(*dump, config);
  if (!result) {
    std::fprintf(stderr, "balloond: %s\n", result.error().message.c_str());
    return kExitUsage;
  }
  std::printf("%s\n", result->dump(2).c_str());
  return kExitOk;
}

// Plays one scenario file and prints its report: 0 if it holds, 1 if not, 2 if unreadable.
int runScenarioFile(const std::string& path) {
  auto spec = balloond::config::loadScenarioFile(path);
  if (!spec) {
    std::fprintf(stderr, "balloond: %s\n", spec.error().message.c_str());
    return kExitUsage;
  }
  const balloond::ScenarioResult result = balloond::runScenario(*spec);
  std::fputs(result.report.c_str(), stdout);
  return result.passed ? kExitOk : kExitFailure;
}

}  // namespace

int main(int argc, char** argv) {
  balloond::tuneAllocatorForTicks();
  Args args;
  if (auto code = parseArgs(std::vector<std::string_view>(argv + 1, argv + argc), args)) {
    return *code;
  }
  // A scenario prints its own report; its log only says what went wrong unless asked for more.
  const std::string level_name = args.log_level.value_or(args.scenario ? "warn" : "info");
  auto level = spdlog::level::from_str(level_name);
  if (level == spdlog::level::off && level_name != "off") {
    return usageError("--log-level: unknown level '" + level_name + "'");
  }
  spdlog::set_default_logger(spdlog::stderr_color_mt("balloond"));
  spdlog::set_level(level);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  if (args.evaluate) {
    return evaluate(args);
  }

  if (args.scenario) {
    return runScenarioFile(*args.scenario);
  }
  auto config = balloond::config::loadConfigFile(args.config);
  if (!config) {
    std::fprintf(stderr, "balloond: %s\n", config.error().message.c_str());
    return kExitUsage;
  }
  if (args.check_config) {
    std::printf("%s: ok\n", args.config.c_str());
    return kExitOk;
  }
  args.options.config_path = args.config;
  auto daemon = balloond::Daemon::create(std::move(*config), args.options);
  if (!daemon) {
    std::fprintf(stderr, "balloond: %s\n", daemon.error().message.c_str());
    return kExitUsage;
  }
  return (*daemon)->run() == 0 ? kExitOk : kExitFailure;
}
