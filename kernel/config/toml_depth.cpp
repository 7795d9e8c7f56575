#include "config/toml_depth.hpp"

#include "common/error.hpp"

namespace keel {
namespace {

bool bare_key_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

}  // namespace

void check_toml_key_depth(std::string_view text, const std::string& source) {
  // Counts the dots of each run "part . part . part" outside strings and
  // comments; anything but key characters, blanks and quoted parts ends a
  // run. Values such as 1.5 or a date make short runs, which is harmless:
  // the bound only has to be above every real key and far below a stack.
  size_t line = 1;
  int dots = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '"' || c == '\'') {
      const bool multi = text.substr(i, 3) == std::string_view(c == '"' ? "\"\"\"" : "'''");
      const std::string_view close = multi ? text.substr(i, 3) : text.substr(i, 1);
      size_t j = i + close.size();
      for (; j < text.size(); ++j) {
        if (text[j] == '\n') ++line;
        if (c == '"' && text[j] == '\\') {
          ++j;  // an escaped character cannot close the string
        } else if (text.substr(j, close.size()) == close) {
          break;
        }
      }
      i = j + close.size() - 1;
      continue;  // a quoted part continues a run
    }
    if (c == '#') {
      while (i + 1 < text.size() && text[i + 1] != '\n') ++i;
      dots = 0;
    } else if (c == '.') {
      if (++dots >= kMaxTomlKeyParts) {
        fail(KEEL_ERR_INVALID_ARGUMENT,
             source + ":" + std::to_string(line) + ": a dotted key or table header has more than " +
                 std::to_string(kMaxTomlKeyParts) + " parts; nest less deeply (see docs/configuration.md)");
      }
    } else if (!bare_key_char(c) && c != ' ' && c != '\t') {
      dots = 0;
      if (c == '\n') ++line;
    }
  }
}

}  // namespace keel
