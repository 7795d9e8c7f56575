// Command line shared by the peer load clients, with keel-load's names and
// meanings so bench/compare drives every system with the same numbers.
#pragma once

#include <cstdint>
#include <string>

namespace keel::peers {

struct PeerOptions {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string target = "bench";  // Redis stream key or NATS subject
  int64_t size = 100;            // payload bytes per message
  int64_t count = -1;            // exactly one of count and duration_s
  double duration_s = 0;
  int64_t window = 1000;  // requests sent but not yet acknowledged, at most
  int64_t warmup = -1;    // acknowledgements left out of the figures; -1: 10% of --count, 0 with --duration
  int64_t timeout_ms = 30000;
};

// Throws std::invalid_argument naming the offending option.
PeerOptions parse_peer_options(int argc, char** argv, const char* target_name);

// The options every peer client accepts, for its usage text.
extern const char* const kPeerUsage;

}  // namespace keel::peers
