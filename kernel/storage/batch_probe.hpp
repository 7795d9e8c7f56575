// Reading batches out of a segment file that may be damaged: is there a
// plausible (and, when asked, CRC-valid) batch at this position, and where
// does the next one start after damaged bytes. Used by start-up recovery, by
// reads that meet damage, and by keel-tool verify/salvage.
//
// Pure functions over a file descriptor: no state, any thread.
#pragma once

#include <cstdint>
#include <keel/record_batch.hpp>
#include <optional>
#include <string>
#include <vector>

namespace keel {

// The offsets a batch at some position may legitimately carry: its base is
// at least `min_base` (the batches before it end below), and it ends below
// `end_offset` (the next segment's base, or INT64_MAX).
struct OffsetBounds {
  int64_t min_base = 0;
  int64_t end_offset = INT64_MAX;
};

// Why the bytes at a position are not a batch; empty when they are.
std::string implausible_header(const batch::Header& h, int64_t position, int64_t limit, OffsetBounds bounds);

// The 61-byte header at some position is where a reused segment file's new
// data ends: all zeros (never written), or a batch of an older segment (a
// base offset below `segment_base`; spare_segment.hpp). Whether it may end
// the data there is the caller's question (nothing acknowledged may be
// missing at that point).
bool unused_header(const uint8_t* header, int64_t segment_base);

// Reads the batch at `pos` (below `limit`) into `buf` and checks its header
// against `bounds` and, with `check_crc`, its CRC. Returns the header, or
// nullopt with the reason in `why`. Throws on I/O errors.
std::optional<batch::Header> probe_batch(int fd, const std::string& path, int64_t pos, int64_t limit,
                                         OffsetBounds bounds, bool check_crc, std::vector<uint8_t>& buf,
                                         std::string* why);

// The first position in [from, limit) holding a CRC-valid batch within
// `bounds`, or -1. Reads the file in chunks; a candidate needs magic 2, a
// length that fits and offsets in bounds before its CRC is computed, so a
// false match inside damaged bytes would need a valid CRC-32C by chance.
int64_t find_next_batch(int fd, const std::string& path, int64_t from, int64_t limit, OffsetBounds bounds,
                        batch::Header* found);

// pread that loops over short reads and EINTR; returns bytes read (fewer at
// end of file). Throws on I/O errors, naming `path`.
int64_t read_at(int fd, uint8_t* buf, int64_t len, int64_t pos, const std::string& path);

}  // namespace keel
