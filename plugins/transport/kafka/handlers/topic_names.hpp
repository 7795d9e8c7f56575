// Kafka's topic-name rule, which the broker also enforces: checked here too
// so that a bad name gets INVALID_TOPIC_EXCEPTION before anything is created
// (and for validate_only requests, which create nothing).
#pragma once

#include <algorithm>
#include <string>

namespace keel::kafka {

inline bool valid_topic_name(const std::string& name) {
  if (name.empty() || name.size() > 249 || name == "." || name == "..") return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

inline std::string invalid_topic_name_message(const std::string& name) {
  return "invalid topic name '" + name + "': use 1-249 characters of [a-zA-Z0-9._-] (not '.' or '..')";
}

}  // namespace keel::kafka
