#include "settings_toml.hpp"

#include <charconv>
#include <cstdio>

#include "errors.hpp"
#include "json_records.hpp"
#include "names.hpp"

namespace keel::web {
namespace {

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"') {
      out += "\\\"";
    } else if (c == '\\') {
      out += "\\\\";
    } else if (u < 0x20 || u == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string scalar(const nlohmann::json& v, const std::string& where) {
  if (v.is_string()) {
    check_text("setting '" + where + "'", v.get_ref<const std::string&>());
    return quoted(v.get<std::string>());
  }
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_number_unsigned()) {
    if (v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
      throw bad_request("setting '" + where + "' is too large for a 64-bit integer");
    }
    return std::to_string(v.get<uint64_t>());
  }
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  if (v.is_number_float()) {
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v.get<double>());
    std::string s(buf, end);
    // TOML floats need a fraction or an exponent; "3" would be an integer.
    if (s.find_first_of(".eE") == std::string::npos) s += ".0";
    return s;
  }
  throw bad_request("setting '" + where + "' has an unsupported type (" + type_name(v) +
                    "); use a string, number, boolean, array of those, or object");
}

std::string value(const nlohmann::json& v, const std::string& where);

std::string table(const nlohmann::json& obj, const std::string& where) {
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : obj.items()) {
    check_text("the name of setting '" + where + "." + shown(k) + "'", k);
    out += (first ? " " : ", ") + quoted(k) + " = " + value(v, where.empty() ? k : where + "." + k);
    first = false;
  }
  return out + (first ? "}" : " }");
}

std::string value(const nlohmann::json& v, const std::string& where) {
  if (v.is_object()) return table(v, where);
  if (v.is_array()) {
    std::string out = "[";
    for (size_t i = 0; i < v.size(); ++i) {
      const auto& e = v[i];
      const std::string w = where + "[" + std::to_string(i) + "]";
      if (e.is_array() || e.is_object() || e.is_null()) {
        throw bad_request("setting '" + w + "' must be a string, number or boolean, got " + type_name(e));
      }
      if (i > 0 && e.type() != v[0].type() && !(e.is_number_integer() && v[0].is_number_integer())) {
        throw bad_request("setting '" + where + "' mixes value types; use one type per array");
      }
      out += (i ? ", " : "") + scalar(e, w);
    }
    return out + "]";
  }
  return scalar(v, where);
}

}  // namespace

std::string settings_to_toml(const nlohmann::json& settings) {
  if (!settings.is_object()) throw bad_request("\"settings\" must be an object, got " + type_name(settings));
  // Top-level keys one per line, so the broker's errors point at a line.
  std::string out;
  for (const auto& [k, v] : settings.items()) {
    check_text("the name of setting '" + shown(k) + "'", k);
    out += quoted(k) + " = " + value(v, k) + "\n";
  }
  return out;
}

}  // namespace keel::web
