// keel-admin's command line: each command declares its options and examples
// once (a CommandSpec); the parser, --help and the bash completion's flag
// lists all come from that declaration, so they cannot disagree.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace keel::admin {

// Exit codes, the same set as keel and keel-tool (kernel/common/exit_codes.hpp;
// keel-admin does not link the kernel, so the numbers are repeated here).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // a broker or operation error
inline constexpr int kExitUsage = 2;    // a bad command line

// A bad command line: exit 2, with a hint on what to run instead.
struct UsageError : std::runtime_error {
  UsageError(const std::string& what, std::string hint_text = "")
      : std::runtime_error(what), hint(std::move(hint_text)) {}
  std::string hint;
};

// A failed operation (unreachable broker, an error from the broker): exit 1.
struct Failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct OptionSpec {
  std::string long_name;   // "partitions"
  char short_name = 0;     // 'p', or 0
  std::string value_name;  // "N"; empty for a flag without value
  std::string help;
  bool repeatable = false;  // -c a=b -c c=d
};

enum class Format { table, json };

// The flags every command takes.
struct Common {
  std::string brokers;                                     // -b, KEEL_BROKERS, 127.0.0.1:9092
  std::vector<std::pair<std::string, std::string>> props;  // -X key=value
  std::string format = "table";                            // --format (consume: a record format too)
  int timeout_ms = 10000;                                  // --timeout
  Format output() const { return format == "json" ? Format::json : Format::table; }
};

struct Parsed {
  Common common;
  std::vector<std::string> args;                           // positional arguments
  std::map<std::string, std::vector<std::string>> values;  // by long name ("" for flags)

  bool has(const std::string& name) const { return values.count(name) != 0; }
  std::string get(const std::string& name, const std::string& fallback = "") const;
  const std::vector<std::string>& all(const std::string& name) const;
  // The value of `name` as an integer; UsageError naming the flag otherwise.
  long long integer(const std::string& name, long long fallback) const;
};

struct CommandSpec {
  std::string path;     // "topic create"
  std::string summary;  // one line
  std::string usage;    // "<topic>... [flags]"
  std::vector<OptionSpec> options;
  std::vector<std::string> examples;
  size_t min_args = 0;
  size_t max_args = static_cast<size_t>(-1);
  // consume: --format is a record format (kcat's tokens) besides table|json.
  bool free_format = false;
};

struct Command {
  CommandSpec spec;
  std::function<int(const Parsed&)> run;
};

// The options every command has (-b, -X, --format, --timeout, -h).
const std::vector<OptionSpec>& common_options();

// Parses the words after the command's name. nullopt: --help was printed.
std::optional<Parsed> parse(const CommandSpec& spec, const std::vector<std::string>& words);

void print_help(const CommandSpec& spec, std::ostream& out);

// "key=value" split at the first '='; UsageError naming `flag` without one.
std::pair<std::string, std::string> key_value(const std::string& text, const std::string& flag);

// "0,1,2" -> {0, 1, 2}; UsageError naming `flag` on anything else.
std::vector<int> int_list(const std::string& text, const std::string& flag);

}  // namespace keel::admin
