// keel-admin: an rpk-style command line for any running Keel broker or
// cluster (or any Kafka-compatible one), a pure Kafka client on
// librdkafka. keel-tool works offline on a data directory instead.
//   keel-admin topic   create|list|describe|delete|alter-config|add-partitions|produce|consume
//   keel-admin group   list|describe|seek|delete
//   keel-admin cluster info|health
#include <csignal>
#include <iostream>
#include <string>
#include <vector>

#include "commands.hpp"
#include "common/suggestion.hpp"

std::vector<keel::admin::CommandGroup> keel::admin::all_groups() {
  return {topic_commands(), group_commands(), cluster_commands()};
}

namespace {

using keel::admin::CommandGroup;

void print_usage(const std::vector<CommandGroup>& groups) {
  std::cout << "keel-admin: manage topics, consumer groups and the cluster of running brokers over the Kafka "
               "protocol.\n\nUsage: keel-admin <command> <subcommand> [args] [flags]\n\nCommands:\n";
  for (const auto& g : groups) {
    std::string subs;
    for (const auto& c : g.commands)
      subs += (subs.empty() ? "" : "|") + c.spec.path.substr(g.name.size() + 1);
    std::cout << "  " << g.name << std::string(9 - g.name.size(), ' ') << g.summary << "\n           " << subs
              << "\n";
  }
  std::cout << "\nCommon flags (every command): -b/--brokers HOST:PORT[,...] (default $KEEL_BROKERS, else "
               "127.0.0.1:9092),\n  -X KEY=VALUE (librdkafka property), --format table|json, --timeout MS, "
               "-h/--help\n\n"
               "Examples:\n"
               "  keel-admin topic create orders -p 6 -c cleanup.policy=compact\n"
               "  keel-admin group describe billing -b broker1:9092\n"
               "  keel-admin cluster health --http 127.0.0.1:8080\n\n"
               "Run 'keel-admin <command> --help' or 'keel-admin <command> <subcommand> --help' for more.\n\n"
               "Exit codes:\n"
               "  0  the command did its work (health: the cluster is healthy)\n"
               "  1  the operation failed (broker unreachable, an error from the broker; health: unhealthy)\n"
               "  2  usage error (unknown command or flag, bad value)\n";
}

void print_group_usage(const CommandGroup& g) {
  std::cout << "keel-admin " << g.name << ": " << g.summary << "\n\nUsage: keel-admin " << g.name
            << " <subcommand> [args] [flags]\n\nSubcommands:\n";
  for (const auto& c : g.commands) {
    std::string sub = c.spec.path.substr(g.name.size() + 1);
    std::cout << "  " << sub << std::string(sub.size() < 16 ? 16 - sub.size() : 1, ' ') << c.spec.summary
              << "\n";
  }
  std::cout << "\nExamples:\n";
  for (size_t i = 0; i < g.commands.size() && i < 3; ++i)
    std::cout << "  " << g.commands[i].spec.examples.front() << "\n";
  std::cout << "\nRun 'keel-admin " << g.name << " <subcommand> --help' for its flags and examples.\n";
}

int usage_error(const std::string& where, const std::string& what, const std::string& hint) {
  std::cerr << "keel-admin" << (where.empty() ? "" : " " + where) << ": " << what << "\n";
  if (!hint.empty()) std::cerr << "hint: " << hint << "\n";
  return keel::admin::kExitUsage;
}

bool is_help(const std::string& w) { return w == "-h" || w == "--help" || w == "help"; }

}  // namespace

int main(int argc, char** argv) {
  // A closed pipe (keel-admin ... | head) ends the output, not the process
  // with a signal in the middle of a commit.
  std::signal(SIGPIPE, SIG_IGN);
  const std::vector<CommandGroup> groups = keel::admin::all_groups();
  std::vector<std::string> words(argv + 1, argv + argc);
  if (words.empty()) {
    print_usage(groups);
    return keel::admin::kExitUsage;
  }
  if (is_help(words[0])) {
    print_usage(groups);
    return keel::admin::kExitOk;
  }
  std::vector<std::string> names;
  for (const auto& g : groups) names.push_back(g.name);
  const CommandGroup* group = nullptr;
  for (const auto& g : groups)
    if (g.name == words[0]) group = &g;
  if (group == nullptr) {
    return usage_error(
        "", "unknown command '" + words[0] + "'" + keel::did_you_mean(words[0], names, "commands are"),
        "run 'keel-admin --help' for the commands");
  }
  if (words.size() < 2 || is_help(words[1])) {
    print_group_usage(*group);
    return words.size() < 2 ? keel::admin::kExitUsage : keel::admin::kExitOk;
  }
  std::vector<std::string> subs;
  const keel::admin::Command* cmd = nullptr;
  for (const auto& c : group->commands) {
    std::string sub = c.spec.path.substr(group->name.size() + 1);
    subs.push_back(sub);
    if (sub == words[1]) cmd = &c;
  }
  if (cmd == nullptr) {
    return usage_error(
        group->name,
        "unknown subcommand '" + words[1] + "'" + keel::did_you_mean(words[1], subs, "subcommands are"),
        "run 'keel-admin " + group->name + " --help' for its subcommands");
  }
  const std::string& path = cmd->spec.path;
  try {
    auto parsed = keel::admin::parse(cmd->spec, std::vector<std::string>(words.begin() + 2, words.end()));
    if (!parsed) return keel::admin::kExitOk;  // --help
    return cmd->run(*parsed);
  } catch (const keel::admin::UsageError& e) {
    return usage_error(path, e.what(), e.hint.empty() ? "run 'keel-admin " + path + " --help'" : e.hint);
  } catch (const std::exception& e) {
    std::cerr << "keel-admin " << path << ": " << e.what() << "\n";
    return keel::admin::kExitFailure;
  }
}
