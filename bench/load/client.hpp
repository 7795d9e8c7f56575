// What produce and consume share: clocks, process CPU time, and librdkafka
// handle set-up with errors turned into exceptions.
#pragma once

#include "json_string.hpp"
#include <librdkafka/rdkafka.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace keel::load {

uint64_t monotonic_ns();

// User + system CPU of this process (all librdkafka threads included).
double cpu_seconds();

// A configuration with `settings` applied in order; throws std::runtime_error
// naming the property librdkafka rejected.
rd_kafka_conf_t* make_conf(const std::vector<std::pair<std::string, std::string>>& settings);

// Takes ownership of `conf`.
rd_kafka_t* make_client(rd_kafka_type_t type, rd_kafka_conf_t* conf);

// Partition count of `topic` from a metadata request; retries until the
// broker reports the topic or `timeout_ms` passes (then throws).
int32_t partition_count(rd_kafka_t* rk, const std::string& topic, int64_t timeout_ms);

// JSON string literal (quotes included) for the report line.
using keel::bench::json_string;

}  // namespace keel::load
