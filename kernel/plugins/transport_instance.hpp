// One [transports.<name>] of the config as a live plugin instance: created
// with its settings (which the plugin may refuse), started (it binds and runs
// its threads), stopped, destroyed. The broker and --check-config both make
// them; the check destroys them without starting them, so it binds nothing.
//
// Threads: created, started, stopped and destroyed by one thread (the
// broker's start/stop caller); between start() and stop() the transport runs
// its own threads and calls into the broker API.
#pragma once

#include <keel/plugin.h>

#include <memory>
#include <string>

#include "config/config.hpp"
#include "plugins/plugin_config.hpp"
#include "plugins/plugin_registry.hpp"

namespace keel {

class TransportInstance {
 public:
  // Calls the plugin's create(), which binds nothing and starts no thread.
  // Throws ConfigError, naming the transport and where its table is, when
  // the strategy is unknown, refuses its settings, or leaves a key unread.
  TransportInstance(PluginRegistry& registry, const TransportConfig& config, const keel_broker_api* api);
  ~TransportInstance();  // stop(), then the plugin's destroy()
  TransportInstance(const TransportInstance&) = delete;
  TransportInstance& operator=(const TransportInstance&) = delete;

  // Binds and begins serving. Throws keel::Error (e.g. the port is in use).
  void start();
  // Stops accepting and joins the transport's threads. Idempotent.
  void stop();
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  StrategyRef ref_;
  std::unique_ptr<keel_config> settings_;
  keel_transport* handle_ = nullptr;
  bool started_ = false;
};

}  // namespace keel
