// Kafka's rule for topic names, shared by the broker and the transports so
// that every way a name enters (config file, HTTP path and body, Kafka
// requests) refuses the same names with the same words. A name that breaks
// it never exists, and it holds no NUL, so it cannot be cut short where it
// crosses the C ABI as a C string.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>

namespace keel {

inline bool valid_topic_name(std::string_view name) {
  if (name.empty() || name.size() > 249 || name == "." || name == "..") return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

// The rule in words, for the error a client sees. The name itself is left
// out: it may hold bytes a log line or a JSON answer cannot carry.
inline std::string topic_name_rule() { return "use 1-249 characters of [a-zA-Z0-9._-] (not '.' or '..')"; }

}  // namespace keel
