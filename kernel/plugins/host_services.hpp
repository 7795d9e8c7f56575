// The keel_host table given to each plugin: logging tagged with the plugin's
// name, its settings, and the clock. One HostServices per loaded library.
#pragma once

#include <keel/plugin.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <string>

#include "common/clock.hpp"

namespace keel {

class HostServices {
 public:
  HostServices(const std::string& plugin_name, const Clock* clock);
  HostServices(const HostServices&) = delete;
  HostServices& operator=(const HostServices&) = delete;

  const keel_host* table() const { return &host_; }
  spdlog::logger& logger() const { return *logger_; }

 private:
  keel_host host_{};
  std::shared_ptr<spdlog::logger> logger_;
  const Clock* clock_;
};

}  // namespace keel
