// A topic's settings as flat (key, value) pairs: what the broker API's
// topic_settings delivers to transports, which translate them (e.g. into
// Kafka's topic configs) without parsing TOML tables themselves.
#pragma once

#include <string>
#include <vector>

#include "config/config.hpp"

namespace keel {

struct TopicSetting {
  std::string key;    // TOML dotted key: "segment_bytes", "plugins.time.retention_ms"
  std::string value;  // the value as JSON, which is also a TOML value
  bool own = false;   // set by the topic's own table, not taken from the defaults
};

// Every topic-level key (partitions: the count the topic was configured
// with; it may hold more), then each strategy's plugin settings that one of
// its tables sets, own table first (the first table with a key wins, as for
// the plugins themselves).
std::vector<TopicSetting> topic_settings(const TopicConfig& topic);

}  // namespace keel
