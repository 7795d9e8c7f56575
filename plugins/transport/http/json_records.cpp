#include "json_records.hpp"

#include <limits>

#include "errors.hpp"

namespace keel::web {
namespace {

// Reads `field` of a record (string or null; absent is null) in the
// encoding named by "<field>_encoding" or the request's default.
std::optional<std::string> bytes_field(const nlohmann::json& obj, const std::string& field, Encoding fallback,
                                       const std::string& where) {
  auto it = obj.find(field);
  Encoding enc = fallback;
  auto enc_it = obj.find(field + "_encoding");
  if (enc_it != obj.end()) enc = parse_encoding(*enc_it, where + "." + field + "_encoding");
  if (it == obj.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) {
    throw bad_request(where + "." + field + " must be a string or null, got " + type_name(*it));
  }
  const auto& text = it->get_ref<const std::string&>();
  if (enc == Encoding::Text) return text;
  std::string why;
  auto bytes = base64_decode(text, &why);
  if (!bytes) throw bad_request(where + "." + field + " is not valid base64: " + why);
  return bytes;
}

void put_bytes(nlohmann::json& out, const std::string& field, const std::optional<std::string>& bytes,
               Encoding encoding) {
  if (!bytes) {
    out[field] = nullptr;
  } else if (encoding == Encoding::Text && valid_utf8(*bytes)) {
    out[field] = *bytes;
  } else {
    out[field] = base64_encode(*bytes);
    out[field + "_encoding"] = "base64";
  }
}

std::vector<batch::RecordHeader> parse_headers(const nlohmann::json& h, Encoding enc,
                                               const std::string& where) {
  std::vector<batch::RecordHeader> out;
  if (h.is_null()) return out;
  if (h.is_object()) {
    for (const auto& [name, value] : h.items()) {
      const std::string w = where + ".headers." + name;
      if (!value.is_null() && !value.is_string()) {
        throw bad_request(w + " must be a string or null, got " + type_name(value));
      }
      nlohmann::json wrapper = {{"value", value}};
      out.push_back({name, bytes_field(wrapper, "value", enc, w)});
    }
    return out;
  }
  if (!h.is_array()) {
    throw bad_request(where +
                      ".headers must be an object {\"name\": \"value\"} or an array of "
                      "{\"key\", \"value\"} objects, got " +
                      type_name(h));
  }
  for (size_t i = 0; i < h.size(); ++i) {
    const std::string w = where + ".headers[" + std::to_string(i) + "]";
    const auto& e = h[i];
    if (!e.is_object())
      throw bad_request(w + " must be an object with \"key\" and \"value\", got " + type_name(e));
    auto k = e.find("key");
    if (k == e.end() || !k->is_string()) throw bad_request(w + ".key must be a string");
    out.push_back({k->get<std::string>(), bytes_field(e, "value", enc, w)});
  }
  return out;
}

}  // namespace

std::string type_name(const nlohmann::json& v) {
  if (v.is_number_integer()) return "integer";
  if (v.is_number_float()) return "number";
  return v.type_name();
}

bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<uint8_t>(s[i]);
    size_t n = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    for (size_t j = 1; j <= n; ++j) {
      if (i + j >= s.size()) return false;
      const auto cc = static_cast<uint8_t>(s[i + j]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, surrogates and code points beyond U+10FFFF.
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

Encoding parse_encoding(const nlohmann::json& v, const std::string& where) {
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    if (s == "text") return Encoding::Text;
    if (s == "base64") return Encoding::Base64;
    throw bad_request(where + " must be \"text\" or \"base64\", got \"" + s + "\"");
  }
  throw bad_request(where + " must be \"text\" or \"base64\", got " + type_name(v));
}

IncomingRecord parse_record(const nlohmann::json& r, size_t index, Encoding enc) {
  const std::string where = "records[" + std::to_string(index) + "]";
  if (!r.is_object()) throw bad_request(where + " must be an object, got " + type_name(r));
  static const char* const kKnown[] = {"key",     "value",     "key_encoding", "value_encoding",
                                       "headers", "partition", "timestamp"};
  for (const auto& [name, v] : r.items()) {
    bool ok = false;
    for (const char* k : kKnown) ok = ok || name == k;
    if (!ok) {
      throw bad_request(where + " has unknown field \"" + name +
                        "\"; known: key, value, key_encoding, value_encoding, headers, partition, timestamp");
    }
  }
  IncomingRecord out;
  out.key = bytes_field(r, "key", enc, where);
  out.value = bytes_field(r, "value", enc, where);
  if (auto h = r.find("headers"); h != r.end()) out.headers = parse_headers(*h, enc, where);
  if (auto p = r.find("partition"); p != r.end() && !p->is_null()) {
    if (!p->is_number_integer() || p->get<int64_t>() < 0 ||
        p->get<int64_t>() > std::numeric_limits<int32_t>::max()) {
      throw bad_request(where + ".partition must be an integer >= 0, got " + p->dump());
    }
    out.partition = static_cast<int32_t>(p->get<int64_t>());
  }
  if (auto t = r.find("timestamp"); t != r.end() && !t->is_null()) {
    if (!t->is_number_integer() || t->get<int64_t>() < 0) {
      throw bad_request(where + ".timestamp must be an integer >= 0 (milliseconds since the epoch), got " +
                        t->dump());
    }
    out.timestamp = t->get<int64_t>();
  }
  return out;
}

nlohmann::json record_to_json(const batch::Record& r, Encoding encoding) {
  nlohmann::json out = {{"offset", r.offset}, {"timestamp", r.timestamp}};
  put_bytes(out, "key", r.key, encoding);
  put_bytes(out, "value", r.value, encoding);
  auto headers = nlohmann::json::array();
  for (const auto& h : r.headers) {
    nlohmann::json j = {{"key", h.key}};
    put_bytes(j, "value", h.value, encoding);
    headers.push_back(std::move(j));
  }
  out["headers"] = std::move(headers);
  return out;
}

}  // namespace keel::web
