// What `keel --check-config` runs, and what every start runs before it
// touches the data dir: each plugin library and strategy the configuration
// names is loaded, each strategy instance is created with its settings (so
// that the plugin may refuse them) and destroyed again. Transports are
// created and destroyed without being started, so no port is bound. No file
// is written or read in the data dir.
//
// Not judged here: index settings, which an index reads when it opens a
// segment's index files (the start-up reports them, as before).
#pragma once

#include <keel/plugin.h>

#include <string>
#include <vector>

#include "common/clock.hpp"
#include "config/config.hpp"
#include "plugins/plugin_registry.hpp"

namespace keel {

struct ConfigCheck {
  // One message per problem, each naming file:line where it is known.
  std::vector<std::string> problems;
  // What was found to be fine, for the "configuration OK" line.
  std::vector<std::string> topics;      // declared topics, e.g. "orders (3 partitions)"
  std::vector<std::string> transports;  // e.g. "kafka on 127.0.0.1:9092"
  std::vector<std::string> notes;       // what could not be judged without writing

  bool ok() const { return problems.empty(); }
  // "configuration OK: ..." or "configuration of <file> has N problem(s):"
  // and the list, for a terminal.
  std::string report(const BrokerConfig& config) const;
  // The problems as one message (for an exception).
  std::string message(const BrokerConfig& config) const;
};

// Loads broker.plugins into `registry` and checks every declared topic, the
// topic defaults (which auto-created topics get), __consumer_offsets and
// every enabled transport, collecting every problem rather than stopping at
// the first. `api` is handed to the transports' create().
ConfigCheck check_config(const BrokerConfig& config, PluginRegistry& registry, const Clock* clock,
                         const keel_broker_api* api);

}  // namespace keel
