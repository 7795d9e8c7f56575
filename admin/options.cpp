#include "options.hpp"

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <iostream>

#include "common/suggestion.hpp"

namespace keel::admin {

namespace {

const std::vector<std::string> kNone;

std::string flag_name(const OptionSpec& o) { return "--" + o.long_name; }

const OptionSpec* find_long(const std::vector<const OptionSpec*>& all, const std::string& name) {
  for (const OptionSpec* o : all)
    if (o->long_name == name) return o;
  return nullptr;
}

const OptionSpec* find_short(const std::vector<const OptionSpec*>& all, char c) {
  for (const OptionSpec* o : all)
    if (o->short_name == c) return o;
  return nullptr;
}

std::string help_hint(const CommandSpec& spec) {
  return "run 'keel-admin " + spec.path + " --help' for its flags and examples";
}

long long to_integer(const std::string& text, const std::string& flag) {
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno != 0) {
    throw UsageError(flag + " takes an integer; got '" + text + "'");
  }
  return v;
}

}  // namespace

const std::vector<OptionSpec>& common_options() {
  static const std::vector<OptionSpec> kCommon = {
      {"brokers", 'b', "HOST:PORT[,...]",
       "brokers to bootstrap from (default: $KEEL_BROKERS, else 127.0.0.1:9092)"},
      {"property", 'X', "KEY=VALUE",
       "a librdkafka client property, as kcat's -X (e.g. security.protocol=SASL_SSL); repeatable", true},
      {"format", 0, "table|json", "output: aligned table (default) or one JSON document"},
      {"timeout", 0, "MS", "how long to wait for the brokers (default 10000)"},
      {"help", 'h', "", "this help"},
  };
  return kCommon;
}

std::string Parsed::get(const std::string& name, const std::string& fallback) const {
  auto it = values.find(name);
  return it == values.end() || it->second.empty() ? fallback : it->second.back();
}

const std::vector<std::string>& Parsed::all(const std::string& name) const {
  auto it = values.find(name);
  return it == values.end() ? kNone : it->second;
}

long long Parsed::integer(const std::string& name, long long fallback) const {
  return has(name) ? to_integer(get(name), "--" + name) : fallback;
}

std::pair<std::string, std::string> key_value(const std::string& text, const std::string& flag) {
  auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0) {
    throw UsageError(flag + " takes KEY=VALUE; got '" + text + "'");
  }
  return {text.substr(0, eq), text.substr(eq + 1)};
}

std::vector<int> int_list(const std::string& text, const std::string& flag) {
  std::vector<int> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    long long v = to_integer(text.substr(start, comma - start), flag);
    if (v < 0 || v > INT32_MAX) throw UsageError(flag + ": " + std::to_string(v) + " is not a partition");
    out.push_back(static_cast<int>(v));
    start = comma + 1;
  }
  return out;
}

std::optional<Parsed> parse(const CommandSpec& spec, const std::vector<std::string>& words) {
  std::vector<const OptionSpec*> all;
  for (const auto& o : spec.options) all.push_back(&o);
  for (const auto& o : common_options()) all.push_back(&o);

  Parsed p;
  bool only_args = false;
  for (size_t i = 0; i < words.size(); ++i) {
    const std::string& w = words[i];
    if (only_args || w.size() < 2 || w[0] != '-') {
      p.args.push_back(w);
      continue;
    }
    if (w == "--") {
      only_args = true;
      continue;
    }
    const OptionSpec* opt = nullptr;
    std::optional<std::string> value;
    if (w.rfind("--", 0) == 0) {
      std::string name = w.substr(2);
      if (auto eq = name.find('='); eq != std::string::npos) {
        value = name.substr(eq + 1);
        name.resize(eq);
      }
      opt = find_long(all, name);
      if (opt == nullptr) {
        std::vector<std::string> names;
        for (const OptionSpec* o : all) names.push_back("--" + o->long_name);
        throw UsageError("unknown flag '" + w + "'" + keel::did_you_mean("--" + name, names, "its flags are"),
                         help_hint(spec));
      }
    } else {
      opt = find_short(all, w[1]);
      if (opt == nullptr) throw UsageError("unknown flag '" + w + "'", help_hint(spec));
      if (w.size() > 2) {
        if (opt->value_name.empty()) throw UsageError("unknown flag '" + w + "'", help_hint(spec));
        value = w.substr(2);  // -p3, -Xkey=value
      }
    }
    if (opt->value_name.empty()) {
      if (value) throw UsageError(flag_name(*opt) + " takes no value", help_hint(spec));
      p.values[opt->long_name].push_back("");
      continue;
    }
    if (!value) {
      if (i + 1 >= words.size()) {
        throw UsageError(flag_name(*opt) + " needs a value (" + opt->value_name + ")", help_hint(spec));
      }
      value = words[++i];
    }
    auto& slot = p.values[opt->long_name];
    if (!slot.empty() && !opt->repeatable) {
      throw UsageError(flag_name(*opt) + " given twice", help_hint(spec));
    }
    slot.push_back(*value);
  }

  if (p.has("help")) {
    print_help(spec, std::cout);
    return std::nullopt;
  }
  if (p.args.size() < spec.min_args) {
    throw UsageError("'" + spec.path + "' needs " + spec.usage, help_hint(spec));
  }
  if (p.args.size() > spec.max_args) {
    throw UsageError("unexpected argument '" + p.args[spec.max_args] + "'", help_hint(spec));
  }

  const char* env = std::getenv("KEEL_BROKERS");
  p.common.brokers = p.get("brokers", env != nullptr && *env != '\0' ? env : "127.0.0.1:9092");
  for (const auto& kv : p.all("property")) p.common.props.push_back(key_value(kv, "-X"));
  p.common.format = p.get("format", spec.free_format ? "" : "table");
  if (!spec.free_format && p.common.format != "table" && p.common.format != "json") {
    throw UsageError("--format takes table or json; got '" + p.common.format + "'", help_hint(spec));
  }
  long long timeout = p.integer("timeout", 10000);
  if (timeout <= 0 || timeout > INT32_MAX) throw UsageError("--timeout takes milliseconds > 0");
  p.common.timeout_ms = static_cast<int>(timeout);
  return p;
}

void print_help(const CommandSpec& spec, std::ostream& out) {
  out << spec.summary << "\n\nUsage: keel-admin " << spec.path << (spec.usage.empty() ? "" : " ")
      << spec.usage << "\n";
  auto section = [&](const char* title, const std::vector<OptionSpec>& opts) {
    out << "\n" << title << ":\n";
    for (const auto& o : opts) {
      std::string left = o.short_name ? std::string("-") + o.short_name + ", " : "    ";
      left += "--" + o.long_name;
      if (!o.value_name.empty()) left += " " + o.value_name;
      out << "  " << left;
      out << (left.size() < 28 ? std::string(28 - left.size(), ' ') : "\n" + std::string(30, ' ')) << o.help
          << "\n";
    }
  };
  if (!spec.options.empty()) section("Flags", spec.options);
  std::vector<OptionSpec> common = common_options();
  for (auto& o : common) {
    if (o.long_name == "format" && spec.free_format) {
      o.value_name = "FORMAT";
      o.help =
          "record format, kcat's tokens: %t topic, %p partition, %o offset, %k key, %s value, %K/%S "
          "their lengths, %T timestamp, %h headers, \\n \\t escapes (default '%s\\n'); or json: one "
          "object per line";
    }
  }
  section("Common flags", common);
  if (!spec.examples.empty()) {
    out << "\nExamples:\n";
    for (const auto& e : spec.examples) out << "  " << e << "\n";
  }
  out << "\nExit codes: 0 done, 1 the operation failed (message on stderr), 2 bad command line.\n";
}

}  // namespace keel::admin
