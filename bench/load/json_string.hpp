// A JSON string literal for the machine-readable result lines of keel-load
// and the peer clients (bench/peers), which share this header.
#pragma once

#include <cstdio>
#include <string>

namespace keel::bench {

inline std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

}  // namespace keel::bench
