// Command line of keel-load.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace keel::load {

struct Options {
  std::string mode;  // "produce" or "consume"
  std::string brokers = "127.0.0.1:9092";
  std::string topic = "bench";
  int32_t partitions = 0;  // produce: 0 lets librdkafka's partitioner choose; N spreads over 0..N-1
  int64_t size = 100;      // payload bytes per message
  int64_t count = -1;      // -1: until --duration (produce) or partition EOF (consume)
  double duration_s = 0;
  std::string acks = "1";
  int64_t linger_ms = -1;  // -1 keeps librdkafka's default
  int64_t batch_size = -1;
  int64_t inflight = -1;
  std::string compression = "none";
  bool idempotent = false;  // librdkafka's enable.idempotence: InitProducerId, then sequenced batches
  double rate = 0;          // msgs/s; 0 = closed loop, as fast as librdkafka's queue allows
  int64_t warmup = -1;      // -1: 10% of --count (0 with --duration)
  std::string from = "beginning";
  int64_t timeout_ms = 30000;
  std::vector<std::pair<std::string, std::string>> client_config;  // --set key=value, passed to librdkafka
};

// Throws std::invalid_argument with a message naming the offending option.
Options parse_options(int argc, char** argv);

extern const char* const kUsage;

}  // namespace keel::load
