// The JSON shapes of etcd's v3 gateway (grpc-gateway over etcdserverpb, as
// in etcd 3.4's rpc.swagger.json): field names as in the .proto
// (snake_case, but "ID"/"TTL" for leases), byte fields base64, int64 fields
// as JSON strings, enums by name. Answers omit every zero/false/empty field
// (no "succeeded" is false, no "kvs" is none, an event without "type" is a
// PUT), so every reader here treats an absent field as its zero.
//
// Readers throw std::invalid_argument on a field of the wrong shape; the
// client turns that into EtcdError::Kind::Protocol.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "coordinator/etcd/etcd_types.hpp"

namespace keel::etcd::gateway {

using nlohmann::json;

std::string encode_bytes(std::string_view bytes);
// The int64 as etcd's gateway writes it: a decimal string.
std::string encode_int(int64_t n);

// obj[field] as bytes/int64; "" / 0 when absent.
std::string bytes_field(const json& obj, const char* field);
int64_t int_field(const json& obj, const char* field);
bool bool_field(const json& obj, const char* field);

KeyValue key_value(const json& obj);
// The answer's header.revision (the store's revision when it was served).
int64_t header_revision(const json& answer);
RangeResult range_result(const json& answer);

json range_request(const std::string& key, const std::string& range_end);
json put_request(const std::string& key, const std::string& value, int64_t lease);
json delete_request(const std::string& key, const std::string& range_end);
json compare(const Compare& c);
json request_op(const Op& op);
// One element of a txn answer's "responses".
OpResult op_result(const json& response_op);
TxnResult txn_result(const json& answer);
WatchEvent watch_event(const json& event);

}  // namespace keel::etcd::gateway
