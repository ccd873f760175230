// SPDX-License-Identifier: Apache-2.0
// balloonctl: the command-line client of balloond's control socket. One subcommand per control
// command (a static table, printed by `help`), human-readable tables by default, --json for
// scripts, and `top`, a live view.

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "ctl/client.h"
#include "ctl/render.h"
#include "proto/codec.h"
#include "proto/control.h"

namespace {

using balloond::Error;
using balloond::Result;
using balloond::control::Request;
using balloond::control::Response;
using balloond::control::ResultCode;
using nlohmann::json;
using namespace balloond::ctl;  // NOLINT(google-build-using-namespace): the renderers

// Exit codes, also printed by `help`.
constexpr int kExitOk = 0;
constexpr int kExitError = 1;      // the daemon answered with an error (result 1 or 2)
constexpr int kExitUsage = 2;      // bad command line
constexpr int kExitNotFound = 3;   // empty, or no such VM (result 3)
constexpr int kExitForbidden = 4;  // result 4, or permission denied on the socket
constexpr int kExitNoDaemon = 5;   // no socket at the path, or nobody listening
constexpr int kExitNoAnswer = 6;   // connected, but no valid answer in time
constexpr const char* kDefaultSocket = "/run/balloond/control.sock";

// --- Argument helpers: each subcommand turns its words into the request's arguments.

struct Words {
  std::vector<std::string> positional;
  std::vector<std::pair<std::string, std::optional<std::string>>> options;  // --name [value]
};

Result<int64_t> parseInt(const std::string& flag, const std::string& s) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() || v < 0) {
    return Error{flag + ": expected a non-negative whole number, got '" + s + "'"};
  }
  return v;
}

using Parse = Result<json> (*)(const Words& w);

Result<json> noArgs(const Words& w) {
  if (!w.positional.empty() || !w.options.empty()) {
    return Error{"this subcommand takes no arguments"};
  }
  return json::object();
}

Result<json> vmGetArgs(const Words& w) {
  if (w.positional.size() != 1) {
    return Error{"expected one VM name"};
  }
  json args = {{"name", w.positional[0]}};
  for (const auto& [name, value] : w.options) {
    if (name != "--decisions" || !value) {
      return Error{"unknown option '" + name + "' (known: --decisions N)"};
    }
    auto n = parseInt(name, *value);
    if (!n) {
      return n.error();
    }
    args["decisions"] = *n;
  }
  return args;
}

Result<json> vmSetArgs(const Words& w) {
  if (w.positional.size() != 1) {
    return Error{"expected one VM name"};
  }
  json args = {{"name", w.positional[0]}};
  for (const auto& [name, value] : w.options) {
    if (name == "--pin" || name == "--floor" || name == "--ceiling") {
      if (!value) {
        return Error{name + " needs a value in MiB"};
      }
      auto n = parseInt(name, *value);
      if (!n) {
        return n.error();
      }
      args[name.substr(2) + "_mib"] = *n;
    } else if (name == "--exclude" || name == "--include") {
      args["excluded"] = name == "--exclude";
    } else if (name == "--clear") {
      args["clear"] = true;
    } else {
      return Error{"unknown option '" + name +
                   "' (known: --pin MIB, --floor MIB, --ceiling MIB, --exclude, --include, "
                   "--clear)"};
    }
  }
  if (args.size() == 1) {
    return Error{"nothing to set (see help)"};
  }
  return args;
}

Result<json> configTestArgs(const Words& w) {
  if (!w.options.empty() || w.positional.size() > 1) {
    return Error{"expected at most one file"};
  }
  json args = json::object();
  if (!w.positional.empty()) {
    args["path"] = w.positional[0];
  }
  return args;
}

Result<json> pauseArgs(const Words& w) {
  json args = json::object();
  for (const auto& [name, value] : w.options) {
    if (name != "--restore" || value) {
      return Error{"unknown option '" + name + "' (known: --restore)"};
    }
    args["restore"] = true;
  }
  if (!w.positional.empty()) {
    return Error{"unexpected argument '" + w.positional[0] + "'"};
  }
  return args;
}

Result<json> reclaimArgs(const Words& w) {
  if (w.positional.size() != 1) {
    return Error{"expected the MiB to free"};
  }
  for (const auto& [name, value] : w.options) {
    if (name != "--wait" || value) {
      return Error{"unknown option '" + name + "' (known: --wait)"};
    }
  }
  auto n = parseInt("MIB", w.positional[0]);
  if (!n) {
    return n.error();
  }
  return json{{"mib", *n}};
}

// One kind of answer as text.
using Render = std::string (*)(const Response& r);

// One subcommand: its name is the control command it sends.
struct Subcommand {
  const char* name;
  const char* usage;
  const char* help;
  Parse parse;
  Render render;
};

constexpr Subcommand kSubcommands[] = {
    {"list-commands", "", "the daemon's commands", noArgs, commandsText},
    {"status-get", "", "version, uptime, channel, tick timing, host memory", noArgs,
     statusAnswerText},
    {"vm-list", "", "every VM as a table", noArgs, vmListText},
    {"vm-get", "NAME [--decisions N]", "one VM with its stats and last decisions", vmGetArgs,
     vmText},
    {"vm-set", "NAME [--pin MIB] [--floor MIB] [--ceiling MIB] [--exclude|--include] [--clear]",
     "runtime overrides, kept until cleared", vmSetArgs, textOf},
    {"config-get", "", "the running configuration", noArgs, prettyJson},
    {"config-test", "[FILE]", "check a file (default: the running one) without applying it",
     configTestArgs, textOf},
    {"config-reload", "", "reload the configuration file", noArgs, textOf},
    {"daemon-pause", "[--restore]", "stop changing targets; --restore gives every VM its max",
     pauseArgs, textOf},
    {"daemon-resume", "", "resume changing targets", noArgs, textOf},
    {"snapshot-get", "", "the last snapshot (offline-evaluation JSON)", noArgs, prettyJson},
    {"reclaim", "MIB [--wait]",
     "free MIB of host memory now, within floors; --wait follows it to its outcome", reclaimArgs,
     reclaimText},
    {"reclaim-get", "", "where the last reclaim stands", noArgs, reclaimText},
};

void printHelp() {
  (void)std::printf(
      "usage: balloonctl [--socket PATH] [--json] [--timeout SECONDS] SUBCOMMAND [ARGS]\n\n"
      "Talks to balloond over its control socket (default %s).\n\nsubcommands:\n",
      kDefaultSocket);
  for (const auto& s : kSubcommands) {
    (void)std::printf("  %s%s%s\n      %s\n", s.name, *s.usage != '\0' ? " " : "", s.usage, s.help);
  }
  (void)std::printf(
      "  %s %s\n      %s\n  help\n      this text\n\n"
      "exit status: 0 ok; 1 the daemon answered with an error; 2 bad command line;\n"
      "3 empty or not found; 4 forbidden (not root or the admin group, or no access to the\n"
      "socket); 5 no daemon at the socket; 6 no answer in time.\n",
      "top", "[--count N]", "a live view of status-get and vm-list, refreshed every second");
}

int exitFor(ResultCode code) {
  switch (code) {
    case ResultCode::kOk: return kExitOk;
    case ResultCode::kEmpty: return kExitNotFound;
    case ResultCode::kForbidden: return kExitForbidden;
    case ResultCode::kError:
    case ResultCode::kUnknownCommand: return kExitError;
  }
  return kExitError;
}

int exitFor(const balloond::ctl::ClientError& e) {
  switch (e.failure) {
    case balloond::ctl::Failure::kNoSocket: return kExitNoDaemon;
    case balloond::ctl::Failure::kPermissionDenied: return kExitForbidden;
    case balloond::ctl::Failure::kNoAnswer: return kExitNoAnswer;
  }
  return kExitNoAnswer;
}

struct Global {
  std::string socket = kDefaultSocket;
  bool json = false;
  std::chrono::milliseconds timeout{5000};
};

int usage(const std::string& message) {
  (void)std::fprintf(stderr, "balloonctl: %s (see balloonctl help)\n", message.c_str());
  return kExitUsage;
}

// Sends one request; prints the answer; returns the exit code.
int run(const Global& g, const Subcommand& s, json args) {
  balloond::ctl::Client client(g.socket, g.timeout);
  auto r = client.call(Request{.command = s.name, .arguments = std::move(args)});
  if (!r) {
    (void)std::fprintf(stderr, "balloonctl: %s\n", r.error().message.c_str());
    return exitFor(client.lastError());
  }
  if (g.json) {
    (void)std::fputs(balloond::control::encode(*r).c_str(), stdout);
  } else if (r->result == ResultCode::kOk ||
             (s.render == reclaimText && r->arguments.is_object())) {
    (void)std::fputs(s.render(*r).c_str(), stdout);
  } else {
    (void)std::fprintf(stderr, "balloonctl: %s: %s\n", s.name, r->text.c_str());
  }
  return exitFor(r->result);
}

// reclaim --wait: start it, print the plan, then poll once a second until it has an outcome.
int reclaimAndWait(const Global& g, const Subcommand& s, json args) {
  const int started = run(g, s, std::move(args));
  if (started != kExitOk) {
    return started;
  }
  balloond::ctl::Client client(g.socket, g.timeout);
  // ReclaimRun gives up after 60 s; allow some more for the last ticks.
  for (int i = 0; i < 120; ++i) {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    auto r = client.call(Request{.command = "reclaim-get", .arguments = json::object()});
    if (!r) {
      (void)std::fprintf(stderr, "balloonctl: %s\n", r.error().message.c_str());
      return exitFor(client.lastError());
    }
    if (r->arguments.is_object() && r->arguments.value("outcome", "") == "in-progress") {
      continue;
    }
    if (g.json) {
      (void)std::fputs(balloond::control::encode(*r).c_str(), stdout);
    } else {
      (void)std::fputs(reclaimText(*r).c_str(), stdout);
    }
    return exitFor(r->result);
  }
  (void)std::fprintf(stderr, "balloonctl: reclaim: still in progress after 120 s\n");
  return kExitNoAnswer;
}

int top(const Global& g, const Words& w) {
  std::optional<int64_t> count;
  for (const auto& [name, value] : w.options) {
    if (name != "--count" || !value) {
      return usage("top: unknown option '" + name + "' (known: --count N)");
    }
    auto n = parseInt(name, *value);
    if (!n) {
      return usage("top: " + n.error().message);
    }
    count = *n;
  }
  balloond::ctl::Client client(g.socket, g.timeout);
  const bool tty = isatty(STDOUT_FILENO) != 0;
  auto next = std::chrono::steady_clock::now();
  for (int64_t i = 0; !count || i < *count; ++i) {
    auto status = client.call(Request{.command = "status-get", .arguments = json::object()});
    auto vms =
        status ? client.call(Request{.command = "vm-list", .arguments = json::object()}) : status;
    if (!status || !vms) {
      (void)std::fprintf(stderr, "balloonctl: %s\n",
                         (!status ? status : vms).error().message.c_str());
      return exitFor(client.lastError());
    }
    if (status->result != ResultCode::kOk) {
      (void)std::fprintf(stderr, "balloonctl: status-get: %s\n", status->text.c_str());
      return exitFor(status->result);
    }
    std::string out = tty ? "\033[H\033[2J" : "";
    if (g.json) {
      out +=
          json{{"status", status->arguments}, {"vms", vms->arguments.value("vms", json())}}.dump() +
          "\n";
    } else {
      out += statusText(status->arguments) + "\n" +
             vmTable(vms->arguments.value("vms", json::array())) + "\n";
    }
    (void)std::fputs(out.c_str(), stdout);
    (void)std::fflush(stdout);
    if (count && i + 1 >= *count) {
      break;
    }
    next += std::chrono::seconds(1);
    std::this_thread::sleep_until(next);
  }
  return kExitOk;
}

}  // namespace

static int balloonctl(int argc, char** argv) {
  Global g;
  std::vector<std::string> rest;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    const bool global_option = rest.empty() && a.starts_with("-");
    if (!global_option) {
      if (rest.empty() && a == "help") {
        printHelp();
        return kExitOk;
      }
      rest.emplace_back(a);
    } else if (a == "--json") {
      g.json = true;
    } else if (a == "--socket" || a == "--timeout") {
      if (i + 1 >= argc) {
        return usage(std::string(a) + " needs a value");
      }
      const std::string v = argv[++i];
      if (a == "--socket") {
        g.socket = v;
      } else {
        char* end = nullptr;
        const double s = std::strtod(v.c_str(), &end);
        if (end == v.c_str() || *end != '\0' || !(s > 0)) {
          return usage("--timeout: expected a positive number of seconds, got '" + v + "'");
        }
        g.timeout = std::chrono::milliseconds(static_cast<int64_t>(s * 1000));
      }
    } else if (a == "--help" || a == "-h") {
      printHelp();
      return kExitOk;
    } else {
      return usage("unknown option '" + std::string(a) + "'");
    }
  }
  if (rest.empty()) {
    return usage("no subcommand");
  }
  Words w;
  for (size_t i = 1; i < rest.size(); ++i) {
    if (rest[i].starts_with("--")) {
      std::optional<std::string> value;
      if (i + 1 < rest.size() && !rest[i + 1].starts_with("--") &&
          (rest[i] == "--pin" || rest[i] == "--floor" || rest[i] == "--ceiling" ||
           rest[i] == "--decisions" || rest[i] == "--count")) {
        value = rest[++i];
      }
      w.options.emplace_back(rest[i - (value ? 1 : 0)], value);
    } else {
      w.positional.push_back(rest[i]);
    }
  }
  if (rest[0] == "top") {
    if (!w.positional.empty()) {
      return usage("top: unexpected argument '" + w.positional[0] + "'");
    }
    return top(g, w);
  }
  for (const auto& s : kSubcommands) {
    if (rest[0] == s.name) {
      auto args = s.parse(w);
      if (!args) {
        return usage(std::string(s.name) + ": " + args.error().message);
      }
      const bool wait = std::any_of(w.options.begin(), w.options.end(),
                                    [](const auto& o) { return o.first == "--wait"; });
      return wait && rest[0] == "reclaim" ? reclaimAndWait(g, s, std::move(*args))
                                          : run(g, s, std::move(*args));
    }
  }
  return usage("unknown subcommand '" + rest[0] + "'");
}

int main(int argc, char** argv) {
  try {
    return balloonctl(argc, argv);
  } catch (const std::exception& e) {
    (void)std::fprintf(stderr, "balloonctl: %s\n", e.what());
    return kExitError;
  }
}
