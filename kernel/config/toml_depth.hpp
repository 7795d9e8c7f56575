// A bound on how deep a TOML text can nest tables through dotted keys and
// table headers. toml++ bounds nested inline values (TOML_MAX_NESTED_VALUES,
// 256) but parses `a.a.a....a = 1` recursively, one level per part: 50,000
// parts (a 100 KB config file, or a --set) overflow the stack. Checked
// before every toml::parse of text the broker did not write itself.
#pragma once

#include <string>
#include <string_view>

namespace keel {

// A dotted key or header of more parts is refused (real configs use 5).
inline constexpr int kMaxTomlKeyParts = 32;

// Throws keel::Error (KEEL_ERR_INVALID_ARGUMENT) naming `source`, the line
// and the limit when a dotted key in `text` has more than kMaxTomlKeyParts
// parts.
void check_toml_key_depth(std::string_view text, const std::string& source);

}  // namespace keel
