#include "json_body.hpp"

#include <algorithm>

#include "errors.hpp"
#include "json_records.hpp"

namespace keel::web {
namespace {

// "[json.exception.parse_error.101] parse error at ..." without the tag.
std::string without_tag(const char* what) {
  std::string s(what);
  if (!s.empty() && s.front() == '[') {
    if (const auto end = s.find("] "); end != std::string::npos) s.erase(0, end + 2);
  }
  return s;
}

}  // namespace

std::optional<size_t> json_nesting_exceeds(std::string_view text, int max_depth) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;  // the escaped character cannot end the string
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return i;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return std::nullopt;
}

nlohmann::json parse_json_body(const std::string& body) {
  if (const auto at = json_nesting_exceeds(body, kMaxJsonDepth)) {
    throw bad_request("request body nests arrays or objects deeper than " + std::to_string(kMaxJsonDepth) +
                      " levels (at byte " + std::to_string(*at) + "); no endpoint needs more than 4");
  }
  try {
    return nlohmann::json::parse(body);
  } catch (const nlohmann::json::exception& e) {
    // parse_error for syntax and invalid UTF-8, out_of_range for numbers
    // beyond a double (1e999).
    throw bad_request("request body is not valid JSON: " + without_tag(e.what()));
  }
}

nlohmann::json parse_object_body(const std::string& body, const std::vector<std::string>& known) {
  nlohmann::json value = parse_json_body(body);
  if (!value.is_object()) throw bad_request("request body must be a JSON object, got " + type_name(value));
  for (const auto& [k, v] : value.items()) {
    if (std::find(known.begin(), known.end(), k) == known.end()) {
      std::string list;
      for (const auto& f : known) list += (list.empty() ? "" : ", ") + f;
      throw bad_request("unknown field \"" + k + "\"; known: " + list);
    }
  }
  return value;
}

}  // namespace keel::web
