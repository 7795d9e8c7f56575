// Settings of the HTTP transport, read from [transports.http].
#pragma once

#include <cstdint>
#include <keel/plugin.hpp>
#include <string>

#include "common/connection_limits.hpp"
#include "common/tls_context.hpp"

namespace keel::web {

struct Settings {
  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 8080;  // 0 picks a free port (logged at start)
  int threads = 2;
  int64_t max_body_bytes = 10 * 1024 * 1024;
  int64_t max_long_poll_ms = 60000;
  // max_connections, idle_timeout_ms, request_timeout_ms (the body's bound).
  transport::ConnectionLimits limits;
  // From a request's first byte, its request line and headers must arrive
  // within this (a slowloris client dribbling headers is closed).
  int64_t header_timeout_ms = 10000;
  // "none", or "basic": HTTP Basic against the broker's users (basic_auth.hpp).
  std::string authentication = "none";
  // With "basic": /metrics answers without credentials (for a scraper).
  bool metrics_public = false;
  // With "basic": how long an accepted Authorization header is remembered.
  int64_t auth_cache_ttl_ms = 60000;
  // HTTPS: the ssl_* keys as the Kafka transport reads them.
  bool tls = false;
  transport::TlsSettings tls_settings;

  static Settings read(const sdk::Config& config);
};

}  // namespace keel::web
