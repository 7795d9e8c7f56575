// The records of the internal topic __consumer_offsets: what a group
// committed, as JSON so that `kcat -C -t __consumer_offsets -f '%k %s\n'`
// is readable when debugging.
//
//   key ["offset", group, topic, partition]
//     value {"offset": N, "metadata": "...", "commit_timestamp": ms}
//   key ["group", group]
//     value {"metadata": "<transport-defined>", "timestamp": ms}
// A null value (tombstone) deletes the key's entry; compaction then drops
// the older records. Keys start with their kind so that later kinds can be
// added; a reader skips kinds it does not know.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace keel::offsets {

inline constexpr const char* kTopic = "__consumer_offsets";

struct OffsetValue {
  int64_t offset = -1;
  std::string metadata;
  int64_t commit_time_ms = 0;
};

std::string offset_key(const std::string& group, const std::string& topic, int32_t partition);
std::string group_key(const std::string& group);
std::string offset_value(const OffsetValue& v);
std::string group_value(const std::string& metadata, int64_t now_ms);

// A decoded record. kind is Unknown for keys of a kind this version does
// not know (skip them); malformed JSON throws keel::Error(KEEL_ERR_CORRUPT).
struct Entry {
  enum class Kind { Offset, Group, Unknown } kind = Kind::Unknown;
  std::string group;
  std::string topic;
  int32_t partition = 0;
  // nullopt for a tombstone
  std::optional<OffsetValue> offset;
  std::optional<std::string> group_metadata;
};
Entry decode(const std::string& key, const std::optional<std::string>& value);

}  // namespace keel::offsets
