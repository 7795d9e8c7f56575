// Producer state snapshots: `<offset>.snapshot` files in a partition's
// directory (as Kafka's), each holding the idempotent producer state of all
// batches below <offset>. Written at segment roll and clean shutdown, so that
// start-up replays only the batches after the newest one instead of the
// whole log.
//
// Format (big-endian), version 1:
//   "KPRS" | u16 version | u16 reserved | u32 CRC-32C of all other bytes |
//   i64 offset | u32 producer count |
//   per producer: i64 id | i16 epoch | u8 batch count | u8 reserved |
//                 i64 last timestamp |
//                 per batch: i32 first seq | i32 last seq | i64 first offset |
//                            i64 last offset
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "producers/producer_state.hpp"

namespace keel {

std::string producer_snapshot_path(const std::string& dir, int64_t offset);
// Offsets of the snapshot files in `dir`, ascending.
std::vector<int64_t> list_producer_snapshots(const std::string& dir);

std::string encode_producer_snapshot(int64_t offset, const ProducerState::Producers& producers);
// The producers in `bytes`, or nullopt with `why` set when the bytes are not
// a whole, undamaged snapshot of `offset`.
std::optional<ProducerState::Producers> decode_producer_snapshot(const std::string& bytes, int64_t offset,
                                                                 std::string* why);

// Writes the snapshot of `offset` durably (temp file, fdatasync, rename,
// directory fsync) and then deletes every snapshot but it and the one before
// it (a fallback should it be damaged). Throws keel::Error.
void write_producer_snapshot(const std::string& dir, int64_t offset,
                             const ProducerState::Producers& producers);
// The same for a snapshot already encoded (encode_producer_snapshot): a
// roll encodes under the append lock and leaves the writing to the flusher.
void store_producer_snapshot(const std::string& dir, int64_t offset, const std::string& encoded);

}  // namespace keel
