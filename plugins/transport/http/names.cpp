#include "names.hpp"

#include <cstdio>
#include <keel/topic_name.hpp>

#include "errors.hpp"
#include "json_records.hpp"

namespace keel::web {

std::string shown(std::string_view value) {
  constexpr size_t kShown = 64;
  std::string out;
  for (size_t i = 0; i < value.size() && i < kShown; ++i) {
    const auto c = static_cast<unsigned char>(value[i]);
    if (c < 0x20 || c >= 0x7F || c == '\\') {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  if (value.size() > kShown) out += "... (" + std::to_string(value.size()) + " bytes)";
  return out;
}

void check_text(const std::string& what, std::string_view value) {
  if (const auto nul = value.find('\0'); nul != std::string_view::npos) {
    throw bad_request(what + " holds a NUL byte at position " + std::to_string(nul) + " ('" + shown(value) +
                      "'); names and metadata may not contain NUL");
  }
  if (!valid_utf8(value)) {
    throw bad_request(what + " is not valid UTF-8 ('" + shown(value) + "'); names must be UTF-8 text");
  }
}

void check_topic_name(const std::string& what, std::string_view value) {
  check_text(what, value);
  if (!valid_topic_name(value)) {
    throw bad_request(what + " is an invalid topic name ('" + shown(value) + "'): " + topic_name_rule());
  }
}

}  // namespace keel::web
