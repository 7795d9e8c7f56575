// The values etcd's v3 key-value, transaction and watch calls take and give,
// in Keel's terms (plain strings for etcd's byte fields, int64 for its
// revisions). Encoded to and decoded from the JSON gateway in etcd_json.cpp.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace keel::etcd {

// mvccpb.KeyValue. create_revision doubles as an epoch (it changes only when
// the key is deleted and created again); mod_revision is what every fenced
// write compares.
struct KeyValue {
  std::string key;
  std::string value;
  int64_t create_revision = 0;
  int64_t mod_revision = 0;
  int64_t version = 0;
  int64_t lease = 0;
};

// A read: the keys found and the store's revision when it was served.
struct RangeResult {
  int64_t revision = 0;
  std::vector<KeyValue> kvs;
};

struct PutResult {
  int64_t revision = 0;
};

struct DeleteResult {
  int64_t revision = 0;
  int64_t deleted = 0;
};

// One condition of a transaction (etcdserverpb.Compare): the key's target
// field compared with a number (Version, Create, Mod) or bytes (Value).
struct Compare {
  enum class Target { Version, Create, Mod, Value };
  enum class Result { Equal, Greater, Less, NotEqual };

  std::string key;
  Target target = Target::Mod;
  Result result = Result::Equal;
  int64_t number = 0;  // Version, Create, Mod
  std::string value;   // Value

  static Compare version(std::string key, Result result, int64_t version);
  // create_revision(key, Equal, 0): "the key does not exist".
  static Compare create_revision(std::string key, Result result, int64_t revision);
  static Compare mod_revision(std::string key, Result result, int64_t revision);
  static Compare value_of(std::string key, Result result, std::string value);
};

// One operation inside a transaction (etcdserverpb.RequestOp).
struct Op {
  enum class Kind { Range, Put, Delete };

  Kind kind = Kind::Range;
  std::string key;
  std::string range_end;  // empty: the key alone (Range, Delete)
  std::string value;      // Put
  int64_t lease = 0;      // Put

  static Op range(std::string key);
  static Op range_prefix(const std::string& prefix);
  static Op put(std::string key, std::string value, int64_t lease = 0);
  static Op delete_key(std::string key);
  static Op delete_prefix(const std::string& prefix);
};

// What one operation of a transaction answered (etcdserverpb.ResponseOp).
struct OpResult {
  Op::Kind kind = Op::Kind::Range;
  int64_t revision = 0;       // the header revision of this response
  int64_t deleted = 0;        // Delete
  std::vector<KeyValue> kvs;  // Range
};

struct TxnResult {
  bool succeeded = false;
  int64_t revision = 0;
  std::vector<OpResult> responses;  // of the branch that ran, in order
};

struct LeaseGrant {
  int64_t id = 0;
  int64_t ttl_seconds = 0;
};

// One change seen by a watch (mvccpb.Event).
struct WatchEvent {
  enum class Type { Put, Delete };
  Type type = Type::Put;
  KeyValue kv;  // for Delete: the key and the revision of the deletion
  std::optional<KeyValue> prev_kv;
};

// The key range etcd's range_end expresses for "every key starting with
// prefix": the prefix with its last byte below 0xff incremented; "\0" (all
// keys) for an empty prefix or one made only of 0xff bytes.
std::string prefix_range_end(const std::string& prefix);

}  // namespace keel::etcd
