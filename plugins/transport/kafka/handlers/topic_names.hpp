// Kafka's topic-name rule, which the broker also enforces: checked here too
// so that a bad name gets INVALID_TOPIC_EXCEPTION before anything is created
// (and for validate_only requests, which create nothing).
#pragma once

#include <keel/topic_name.hpp>
#include <string>

namespace keel::kafka {

using keel::valid_topic_name;

inline std::string invalid_topic_name_message(const std::string& name) {
  return "invalid topic name '" + name + "': " + topic_name_rule();
}

}  // namespace keel::kafka
