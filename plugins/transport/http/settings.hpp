// Settings of the HTTP transport, read from [transports.http].
#pragma once

#include <cstdint>
#include <keel/plugin.hpp>
#include <string>

namespace keel::web {

struct Settings {
  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 8080;  // 0 picks a free port (logged at start)
  int threads = 2;
  int64_t max_body_bytes = 10 * 1024 * 1024;
  int64_t max_long_poll_ms = 60000;

  static Settings read(const sdk::Config& config);
};

}  // namespace keel::web
