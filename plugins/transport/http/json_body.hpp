// Request bodies as JSON, bounded. nlohmann's DOM, dump() and the
// transport's own converters (settings_toml.cpp) recurse once per nesting
// level, so a body of a few kilobytes nested thousands deep would overflow a
// thread's stack: the depth is checked by a linear scan before the parser
// runs. Every parser exception (syntax, invalid UTF-8, a number like 1e999)
// becomes a 400 naming the problem.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace keel::web {

// Deeper than any request the endpoints define (records and settings need
// at most 4 levels), far shallower than what exhausts a stack.
inline constexpr int kMaxJsonDepth = 64;

// The byte position at which `text` opens an array or object nested deeper
// than max_depth (outside strings), nullopt when it never does. For text
// that is not valid JSON the answer bounds what the parser will descend to
// before it gives up, which is all it is used for.
std::optional<size_t> json_nesting_exceeds(std::string_view text, int max_depth);

// The request body as JSON; HttpError 400 when it nests deeper than
// kMaxJsonDepth or is not JSON the parser accepts.
nlohmann::json parse_json_body(const std::string& body);

// parse_json_body, then HttpError 400 unless it is an object holding only
// `known` fields (the message lists them).
nlohmann::json parse_object_body(const std::string& body, const std::vector<std::string>& known);

}  // namespace keel::web
