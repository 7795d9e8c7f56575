// The request target: percent-decoded path segments and query parameters,
// with typed getters whose errors name the parameter and the bad value.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace keel::web {

// Decodes %XX (and '+' as a space when plus_is_space); throws HttpError 400
// on a malformed escape.
std::string percent_decode(std::string_view s, bool plus_is_space);

class Query {
 public:
  Query() = default;
  // The part after '?'. HttpError 400 for a malformed escape, a name given
  // twice, or a NUL or invalid UTF-8 in a name or value.
  explicit Query(std::string_view text);

  bool has(const std::string& name) const { return values_.count(name) != 0; }
  std::optional<std::string> get(const std::string& name) const;
  // An integer in [min, max]; nullopt when absent.
  std::optional<int64_t> get_int(const std::string& name, int64_t min, int64_t max) const;
  int64_t get_int(const std::string& name, int64_t min, int64_t max, int64_t fallback) const {
    return get_int(name, min, max).value_or(fallback);
  }
  bool get_bool(const std::string& name, bool fallback) const;
  // One of `choices`; `fallback` when absent.
  std::string get_choice(const std::string& name, std::initializer_list<const char*> choices,
                         const std::string& fallback) const;
  // Rejects parameters not in `known`, so that a typo is not silently ignored.
  void allow_only(std::initializer_list<const char*> known) const;

 private:
  std::map<std::string, std::string> values_;
};

// Splits "/a/b%2Fc?x=1" into decoded path segments and the query text.
std::vector<std::string> split_path(std::string_view target, std::string_view* query_text);

// Parses a path parameter as an integer >= 0 (e.g. a partition).
int32_t path_int(const std::string& name, const std::string& value);

}  // namespace keel::web
