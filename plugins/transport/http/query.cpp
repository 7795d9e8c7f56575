#include "query.hpp"

#include <charconv>

#include "errors.hpp"
#include "names.hpp"

namespace keel::web {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<int64_t> parse_int(const std::string& s) {
  int64_t v = 0;
  const char* end = s.data() + s.size();
  auto [p, ec] = std::from_chars(s.data(), end, v);
  if (ec != std::errc() || p != end || s.empty()) return std::nullopt;
  return v;
}

std::string range_text(int64_t min, int64_t max) {
  if (max == INT64_MAX) return ">= " + std::to_string(min);
  return "between " + std::to_string(min) + " and " + std::to_string(max);
}

}  // namespace

std::string percent_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '%') {
      const int hi = i + 2 < s.size() ? hex_value(s[i + 1]) : -1;
      const int lo = i + 2 < s.size() ? hex_value(s[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        throw bad_request("malformed percent-escape in '" + std::string(s) + "' at position " +
                          std::to_string(i));
      }
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

Query::Query(std::string_view text) {
  while (!text.empty()) {
    const auto amp = text.find('&');
    const std::string_view pair = text.substr(0, amp);
    text = amp == std::string_view::npos ? std::string_view() : text.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    std::string name = percent_decode(pair.substr(0, eq), true);
    std::string value = eq == std::string_view::npos ? "" : percent_decode(pair.substr(eq + 1), true);
    // Values may be names (?topic=) that reach the broker as C strings.
    check_text("query parameter name '" + shown(name) + "'", name);
    check_text("query parameter '" + name + "'", value);
    if (values_.count(name)) throw bad_request("query parameter '" + name + "' is given more than once");
    values_.emplace(std::move(name), std::move(value));
  }
}

std::optional<std::string> Query::get(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::optional<int64_t> Query::get_int(const std::string& name, int64_t min, int64_t max) const {
  auto text = get(name);
  if (!text) return std::nullopt;
  auto v = parse_int(*text);
  if (!v || *v < min || *v > max) {
    throw bad_request("query parameter '" + name + "' must be an integer " + range_text(min, max) +
                      ", got '" + *text + "'");
  }
  return v;
}

bool Query::get_bool(const std::string& name, bool fallback) const {
  auto text = get(name);
  if (!text) return fallback;
  if (*text == "true" || *text == "1") return true;
  if (*text == "false" || *text == "0") return false;
  throw bad_request("query parameter '" + name + "' must be true or false, got '" + *text + "'");
}

std::string Query::get_choice(const std::string& name, std::initializer_list<const char*> choices,
                              const std::string& fallback) const {
  auto text = get(name);
  if (!text) return fallback;
  std::string all;
  for (const char* c : choices) {
    if (*text == c) return *text;
    all += all.empty() ? std::string("'") + c + "'" : std::string(" or '") + c + "'";
  }
  throw bad_request("query parameter '" + name + "' must be " + all + ", got '" + *text + "'");
}

void Query::allow_only(std::initializer_list<const char*> known) const {
  for (const auto& [name, value] : values_) {
    bool ok = false;
    std::string all;
    for (const char* k : known) {
      ok = ok || name == k;
      all += (all.empty() ? "" : ", ") + std::string(k);
    }
    if (!ok) {
      throw bad_request("unknown query parameter '" + name + "'" +
                        (all.empty() ? "; this endpoint takes none" : "; this endpoint takes: " + all));
    }
  }
}

std::vector<std::string> split_path(std::string_view target, std::string_view* query_text) {
  const auto q = target.find('?');
  *query_text = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
  std::string_view path = target.substr(0, q);
  std::vector<std::string> segments;
  while (!path.empty()) {
    const auto slash = path.find('/');
    const std::string_view seg = path.substr(0, slash);
    path = slash == std::string_view::npos ? std::string_view() : path.substr(slash + 1);
    if (!seg.empty()) segments.push_back(percent_decode(seg, false));
  }
  return segments;
}

int32_t path_int(const std::string& name, const std::string& value) {
  auto v = parse_int(value);
  if (!v || *v < 0 || *v > INT32_MAX) {
    throw bad_request("path parameter '" + name + "' must be an integer >= 0, got '" + value + "'");
  }
  return static_cast<int32_t>(*v);
}

}  // namespace keel::web
