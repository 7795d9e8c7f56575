#include "config/config_check.hpp"

#include <algorithm>
#include <set>

#include "cluster/coordinator_instance.hpp"
#include "common/error.hpp"
#include "common/suggestion.hpp"
#include "groups/offsets_topic_config.hpp"
#include "plugins/plugin_config.hpp"
#include "plugins/transport_instance.hpp"
#include "security/authorizer.hpp"
#include "topic.hpp"

namespace keel {
namespace {

// The name the topic defaults are checked under: what a topic created
// without settings (auto-created, or by an admin request) would get.
constexpr const char* kDefaultsLabel = "(topic_defaults)";

std::string plural(size_t n, const std::string& word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

// Where a transport listens, when its table says so in the usual `listen`
// key; the kernel knows no transport, so anything else is the plugin's.
std::string listen_of(const TransportConfig& tc) {
  const toml::table* t = tc.settings.tables.empty() ? nullptr : tc.settings.tables[0];
  const toml::node* listen = t ? t->get("listen") : nullptr;
  if (listen != nullptr && listen->is_string()) return tc.name + " on " + listen->as_string()->get();
  return tc.name + " (listening where the plugin's defaults say)";
}

class Checker {
 public:
  Checker(const BrokerConfig& config, PluginRegistry& registry, const Clock* clock, ConfigCheck& out)
      : config_(config), registry_(registry), clock_(clock), out_(out) {}

  void load_libraries() {
    for (const auto& lib : config_.plugins) {
      try {
        registry_.load_library(lib);
      } catch (const Error& e) {
        out_.problems.push_back(config_.source + ": [broker] plugins: " + e.what());
      }
    }
  }

  // Creates the topic's strategy instances (the Topic constructor) and lets
  // them go; the topic is never opened, so no partition directory is made.
  bool topic(const TopicConfig& t) {
    try {
      Topic topic(t, registry_, config_.data_dir, clock_);
      auto problems = topic.config_problems();
      if (!problems.empty()) {
        out_.problems.push_back("configuration of topic '" + t.name +
                                "' is invalid:" + problem_lines(problems));
      }
      note_index_settings(t);
      return problems.empty();
    } catch (const Error& e) {
      out_.problems.push_back(e.what());
      return false;
    }
  }

  void transport(const TransportConfig& tc, const keel_broker_api* api) {
    try {
      TransportInstance instance(registry_, tc, api);  // create() only: nothing binds
      out_.transports.push_back(listen_of(tc));
      // A transport built before ABI 2.5 never asks the authorizer: its
      // clients would do everything while the log says rules apply.
      const StrategyRef ref = registry_.require(KEEL_KIND_TRANSPORT, tc.name);
      const keel_plugin_descriptor* d = ref.library->descriptor;
      if (config_.authorizer.enabled && d != nullptr && d->abi_minor < 5) {
        out_.problems.push_back(
            (tc.location.empty() ? "" : tc.location + ": ") + "transport '" + tc.name + "' (plugin '" +
            (d->name != nullptr ? d->name : "?") + "', built for ABI " + std::to_string(d->abi_major) + "." +
            std::to_string(d->abi_minor) +
            ") cannot ask the [authorizer], which came with ABI 2.5: its clients would bypass every rule. "
            "Rebuild the plugin against the Keel SDK 2.5 or later, or disable the transport (enabled = "
            "false)");
      }
    } catch (const Error& e) {
      out_.problems.push_back(e.what());
    }
  }

 private:
  void note_index_settings(const TopicConfig& t) {
    for (const auto& name : t.index) {
      auto it = t.plugin_settings.find(name);
      if (it == t.plugin_settings.end()) continue;
      for (size_t i = 0; i < it->second.tables.size(); ++i) {
        if (it->second.tables[i] == nullptr || !noted_.insert(it->second.table_names[i]).second) continue;
        out_.notes.push_back("index settings " + it->second.table_names[i] +
                             " are read when a segment's index opens: start-up judges them, not this check");
      }
    }
  }

  const BrokerConfig& config_;
  PluginRegistry& registry_;
  const Clock* clock_;
  ConfigCheck& out_;
  std::set<std::string> noted_;
};

std::string listed(const std::vector<std::string>& problems) {
  std::string out;
  for (const auto& p : problems) {
    std::string indented;
    for (char c : p) indented += c == '\n' ? std::string("\n    ") : std::string(1, c);
    out += "  - " + indented + "\n";
  }
  return out;
}

}  // namespace

ConfigCheck check_config(const BrokerConfig& config, PluginRegistry& registry, const Clock* clock,
                         const keel_broker_api* api) {
  ConfigCheck out;
  Checker check(config, registry, clock, out);
  check.load_libraries();
  for (const auto& t : config.topics) {
    if (check.topic(t))
      out.topics.push_back(t.name + " (" + plural(static_cast<size_t>(t.partitions), "partition") + ")");
  }
  check.topic(config.topic_from_defaults(kDefaultsLabel));
  try {
    check.topic(offsets::topic_config(config));
  } catch (const Error& e) {
    out.problems.push_back(e.what());
  }
  for (const auto& tc : config.transports) {
    if (tc.enabled) check.transport(tc, api);
  }
  if (config.cluster.enabled) {
    try {
      // create() only: a coordinator connects to nothing until its session
      // opens, so the check needs no running store.
      CoordinatorInstance coordinator(registry, config.cluster);
      out.notes.push_back("cluster '" + config.cluster.cluster_id + "': broker " +
                          std::to_string(config.cluster.broker_id) + " through coordinator '" +
                          config.cluster.coordinator + "' (reaching it is not checked here)");
    } catch (const Error& e) {
      out.problems.push_back(e.what());
    }
  }
  if (config.authorizer.enabled) {
    try {
      // No state dir: the plugin judges its settings and reads no file.
      security::Authorizer authorizer(registry, config.authorizer, "", nullptr,
                                      [] { return monotonic_ns(); });
      out.notes.push_back("authorizer '" + config.authorizer.strategy +
                          "' (its stored rules are read at start, not here)");
    } catch (const Error& e) {
      out.problems.push_back(e.what());
    }
  }
  return out;
}

std::string ConfigCheck::report(const BrokerConfig& config) const {
  if (!ok()) {
    return "configuration of " + config.source + " has " + plural(problems.size(), "problem") + ":\n" +
           listed(problems);
  }
  std::string out = "configuration OK: " + plural(topics.size(), "topic") + ", " +
                    (transports.empty() ? std::string("no transports") : "transports " + join(transports)) +
                    "\n";
  out += "  config: " + config.source + "\n";
  if (!topics.empty()) out += "  topics: " + join(topics) + "\n";
  out += "  new topics get: partitioner " + config.topic_defaults.partitioner + ", retention [" +
         join(config.topic_defaults.retention) + "], index [" + join(config.topic_defaults.index) + "]" +
         (config.auto_create_topics ? " (auto-created on first use)" : "") + "\n";
  out += "  data dir: " + config.data_dir + " (not opened by the check)\n";
  for (const auto& n : notes) out += "  note: " + n + "\n";
  return out;
}

std::string ConfigCheck::message(const BrokerConfig& config) const {
  if (problems.size() == 1) return problems[0];
  return "configuration of " + config.source + " has " + plural(problems.size(), "problem") + ":\n" +
         listed(problems);
}

}  // namespace keel
