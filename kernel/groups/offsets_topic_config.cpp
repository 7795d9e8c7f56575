#include "groups/offsets_topic_config.hpp"

#include "common/error.hpp"
#include "groups/offset_records.hpp"

namespace keel::offsets {

std::string topic_settings(const OffsetsConfig& oc) {
  std::string retention;
  for (const auto& r : oc.topic_retention) retention += (retention.empty() ? "\"" : ", \"") + r + "\"";
  return "segment_bytes = " + std::to_string(oc.topic_segment_bytes) + "\nretention = [" + retention +
         "]\nflush_mode = \"every-batch\"\n";
}

TopicConfig topic_config(const BrokerConfig& config) {
  if (config.find_topic(kTopic) != nullptr) {
    // A [topics.__consumer_offsets] table could give it time retention and
    // so delete committed offsets.
    throw ConfigError(KEEL_ERR_INVALID_ARGUMENT,
                      config.source + ": [topics." + kTopic +
                          "] is not allowed: the broker owns that topic; set it up with the [broker] "
                          "offsets_* keys (see docs/configuration.md)");
  }
  // The TOML is made here, not written by anyone: its lines mean nothing.
  TopicConfig t = config.topic_from_toml(
      kTopic, topic_settings(config.offsets),
      ConfigOrigin{"the [broker] offsets_topic_* settings of " + config.source, false});
  std::erase_if(t.strategy_locations, [](const auto& kv) { return kv.first.starts_with("retention "); });
  t.strategy_locations.insert(config.offsets.retention_locations.begin(),
                              config.offsets.retention_locations.end());
  return t;
}

}  // namespace keel::offsets
