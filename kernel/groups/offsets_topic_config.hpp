// The internal topic __consumer_offsets as the [broker] offsets_topic_* keys
// set it up. The broker creates it with these settings; --check-config
// instantiates its strategies from the same TopicConfig.
#pragma once

#include <string>

#include "config/config.hpp"

namespace keel::offsets {

// Its settings as the TOML of a [topics.<name>] table, kept in
// <data_dir>/.topics like any created topic's.
std::string topic_settings(const OffsetsConfig& offsets);

// Those settings on top of the topic defaults, with messages pointing at the
// [broker] keys. Throws ConfigError when the config declares the topic
// itself ([topics.__consumer_offsets]), which the broker owns.
TopicConfig topic_config(const BrokerConfig& config);

}  // namespace keel::offsets
