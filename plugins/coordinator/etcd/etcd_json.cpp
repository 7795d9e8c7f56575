#include "coordinator/etcd/etcd_json.hpp"

#include <charconv>
#include <stdexcept>

#include "common/base64.hpp"

namespace keel::etcd::gateway {

std::string encode_bytes(std::string_view bytes) { return transport::base64_encode(bytes); }

std::string encode_int(int64_t n) { return std::to_string(n); }

std::string bytes_field(const json& obj, const char* field) {
  const auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) return {};
  if (!it->is_string())
    throw std::invalid_argument(std::string("field ") + field + " is not a base64 string");
  std::string why;
  auto decoded = transport::base64_decode(it->get_ref<const std::string&>(), &why);
  if (!decoded) throw std::invalid_argument(std::string("field ") + field + " is not base64: " + why);
  return std::move(*decoded);
}

int64_t int_field(const json& obj, const char* field) {
  const auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) return 0;
  if (it->is_number_integer()) return it->get<int64_t>();
  if (!it->is_string()) throw std::invalid_argument(std::string("field ") + field + " is not an int64");
  const auto& s = it->get_ref<const std::string&>();
  int64_t n = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || end != s.data() + s.size()) {
    throw std::invalid_argument(std::string("field ") + field + " is not an int64: \"" + s + "\"");
  }
  return n;
}

bool bool_field(const json& obj, const char* field) {
  const auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) return false;
  if (!it->is_boolean()) throw std::invalid_argument(std::string("field ") + field + " is not a boolean");
  return it->get<bool>();
}

KeyValue key_value(const json& obj) {
  KeyValue kv;
  kv.key = bytes_field(obj, "key");
  kv.value = bytes_field(obj, "value");
  kv.create_revision = int_field(obj, "create_revision");
  kv.mod_revision = int_field(obj, "mod_revision");
  kv.version = int_field(obj, "version");
  kv.lease = int_field(obj, "lease");
  return kv;
}

int64_t header_revision(const json& answer) {
  const auto it = answer.find("header");
  return it == answer.end() ? 0 : int_field(*it, "revision");
}

RangeResult range_result(const json& answer) {
  RangeResult r;
  r.revision = header_revision(answer);
  if (const auto it = answer.find("kvs"); it != answer.end() && it->is_array()) {
    for (const auto& kv : *it) r.kvs.push_back(key_value(kv));
  }
  return r;
}

json range_request(const std::string& key, const std::string& range_end) {
  json j{{"key", encode_bytes(key)}};
  if (!range_end.empty()) j["range_end"] = encode_bytes(range_end);
  return j;
}

json put_request(const std::string& key, const std::string& value, int64_t lease) {
  json j{{"key", encode_bytes(key)}, {"value", encode_bytes(value)}};
  if (lease != 0) j["lease"] = encode_int(lease);
  return j;
}

json delete_request(const std::string& key, const std::string& range_end) {
  return range_request(key, range_end);
}

json compare(const Compare& c) {
  static constexpr const char* kResults[] = {"EQUAL", "GREATER", "LESS", "NOT_EQUAL"};
  json j{{"key", encode_bytes(c.key)}, {"result", kResults[static_cast<int>(c.result)]}};
  switch (c.target) {
    case Compare::Target::Version:
      j["target"] = "VERSION";
      j["version"] = encode_int(c.number);
      break;
    case Compare::Target::Create:
      j["target"] = "CREATE";
      j["create_revision"] = encode_int(c.number);
      break;
    case Compare::Target::Mod:
      j["target"] = "MOD";
      j["mod_revision"] = encode_int(c.number);
      break;
    case Compare::Target::Value:
      j["target"] = "VALUE";
      j["value"] = encode_bytes(c.value);
      break;
  }
  return j;
}

json request_op(const Op& op) {
  switch (op.kind) {
    case Op::Kind::Range:
      return json{{"request_range", range_request(op.key, op.range_end)}};
    case Op::Kind::Put:
      return json{{"request_put", put_request(op.key, op.value, op.lease)}};
    case Op::Kind::Delete:
      return json{{"request_delete_range", delete_request(op.key, op.range_end)}};
  }
  throw std::invalid_argument("unknown transaction operation");
}

OpResult op_result(const json& response_op) {
  OpResult r;
  if (const auto it = response_op.find("response_put"); it != response_op.end()) {
    r.kind = Op::Kind::Put;
    r.revision = header_revision(*it);
  } else if (const auto it = response_op.find("response_delete_range"); it != response_op.end()) {
    r.kind = Op::Kind::Delete;
    r.revision = header_revision(*it);
    r.deleted = int_field(*it, "deleted");
  } else if (const auto it = response_op.find("response_range"); it != response_op.end()) {
    const RangeResult range = range_result(*it);
    r.kind = Op::Kind::Range;
    r.revision = range.revision;
    r.kvs = range.kvs;
  } else {
    throw std::invalid_argument("a transaction response holds no put, delete_range or range answer");
  }
  return r;
}

TxnResult txn_result(const json& answer) {
  TxnResult r;
  r.succeeded = bool_field(answer, "succeeded");
  r.revision = header_revision(answer);
  if (const auto it = answer.find("responses"); it != answer.end() && it->is_array()) {
    for (const auto& op : *it) r.responses.push_back(op_result(op));
  }
  return r;
}

WatchEvent watch_event(const json& event) {
  WatchEvent e;
  const auto type = event.find("type");
  if (type == event.end() || *type == "PUT") {
    e.type = WatchEvent::Type::Put;
  } else if (*type == "DELETE") {
    e.type = WatchEvent::Type::Delete;
  } else {
    throw std::invalid_argument("unknown watch event type " + type->dump());
  }
  if (const auto it = event.find("kv"); it != event.end()) e.kv = key_value(*it);
  if (const auto it = event.find("prev_kv"); it != event.end()) e.prev_kv = key_value(*it);
  return e;
}

}  // namespace keel::etcd::gateway
