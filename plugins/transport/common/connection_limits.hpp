// The connection limits both built-in transports read from their settings
// table ([transports.kafka], [transports.http]); see docs/configuration.md.
#pragma once

#include <cstdint>
#include <keel/plugin.hpp>
#include <string>

namespace keel::transport {

struct ConnectionLimits {
  // Open connections per listener; more are accepted and closed at once.
  // Default: 10000, or a quarter of the open-file limit when that is lower,
  // leaving descriptors for segment files and the other transport.
  int64_t max_connections = 10000;
  // A connection with no request in progress and no bytes moving for this
  // long is closed (Kafka's connections.max.idle.ms).
  int64_t idle_timeout_ms = 600000;
  // Once a request's first bytes arrived (and its memory was granted), all
  // of it must arrive within this (a client trickling bytes is closed).
  int64_t request_timeout_ms = 30000;

  // `transport` names the table in messages. Throws sdk::Error.
  static ConnectionLimits read(const sdk::Config& config, const std::string& transport);
  static int64_t default_max_connections();
};

// At most this many log lines per second per transport about client
// misbehaviour; the rest are counted (LogLimiter).
constexpr int kClientLogLinesPerSecond = 10;

}  // namespace keel::transport
