// Reader of consumer-offsets.journal, the side file that held committed
// offsets before they moved into the internal topic __consumer_offsets.
// The broker reads it once at start-up, writes what it held into the topic
// and deletes it (see Broker::migrate_legacy_offsets).
//
// Format, all integers little-endian:
//   record  := u32 payload_length | u32 crc32c(payload) | payload
//   payload := u8 type, then
//     type 1 (commit):       str group | str topic | i32 partition | i64 offset
//                            | i64 commit_time_ms | str metadata
//     type 2 (remove topic): str topic
//   str     := u32 byte_length | bytes
// Later records win. Reading stops at the first torn or corrupt record (an
// unclean stop in the middle of an append; everything before was
// acknowledged). A record with a valid checksum that cannot be understood is
// an error instead, since skipping it would lose data.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <tuple>

namespace keel {

struct LegacyOffset {
  int64_t offset = -1;
  std::string metadata;
  int64_t commit_time_ms = 0;
};

// (group, topic, partition) -> the last committed offset.
using LegacyOffsets = std::map<std::tuple<std::string, std::string, int32_t>, LegacyOffset>;

inline constexpr const char* kLegacyOffsetsJournal = "consumer-offsets.journal";

// Throws keel::Error naming the file and position when it cannot be read.
LegacyOffsets read_legacy_offsets_journal(const std::string& path);

}  // namespace keel
