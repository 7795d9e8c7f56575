// Records to and from JSON. Bytes travel as UTF-8 text or as base64
// (RFC 4648, standard alphabet, padded); a field that holds bytes may name
// its encoding with a sibling "<field>_encoding".
#pragma once

#include <cstdint>
#include <keel/record_batch.hpp>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/base64.hpp"

namespace keel::web {

enum class Encoding { Text, Base64 };

using transport::base64_decode;
using transport::base64_encode;
bool valid_utf8(std::string_view s);

// "text" or "base64" into an Encoding; HttpError 400 naming `where` otherwise.
Encoding parse_encoding(const nlohmann::json& v, const std::string& where);

// One record of a produce request, validated.
struct IncomingRecord {
  std::optional<int32_t> partition;
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::vector<batch::RecordHeader> headers;
  std::optional<int64_t> timestamp;
};

// Parses records[index]; every problem is an HttpError 400 naming the field,
// e.g. "records[2].value is not valid base64: ...".
IncomingRecord parse_record(const nlohmann::json& r, size_t index, Encoding default_encoding);

// A stored record as JSON. Bytes go out as text when `encoding` is Text and
// they are valid UTF-8, else base64 with "<field>_encoding": "base64".
nlohmann::json record_to_json(const batch::Record& r, Encoding encoding);

// A JSON type name for messages ("number", "object", ...).
std::string type_name(const nlohmann::json& v);

}  // namespace keel::web
