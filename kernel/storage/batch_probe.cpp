#include "storage/batch_probe.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "common/error.hpp"

namespace keel {
namespace {

constexpr int64_t kHeader = static_cast<int64_t>(batch::kHeaderSize);
constexpr int64_t kChunk = 1 << 20;

}  // namespace

int64_t read_at(int fd, uint8_t* buf, int64_t len, int64_t pos, const std::string& path) {
  int64_t done = 0;
  while (done < len) {
    ssize_t n = ::pread(fd, buf + done, static_cast<size_t>(len - done), pos + done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      fail(status_from_errno(e),
           "read of '" + path + "' at position " + std::to_string(pos + done) + " failed: " + errno_text(e));
    }
    if (n == 0) break;
    done += n;
  }
  return done;
}

std::string implausible_header(const batch::Header& h, int64_t position, int64_t limit, OffsetBounds bounds) {
  if (h.magic != batch::kMagic) return "magic " + std::to_string(h.magic) + " (expected 2)";
  const int64_t total = static_cast<int64_t>(h.batch_length) + 12;
  if (total < kHeader) return "batch length " + std::to_string(h.batch_length) + " below a header's";
  if (position + total > limit) {
    return "batch of " + std::to_string(total) + " bytes runs past the end of the data (" +
           std::to_string(limit - position) + " bytes left)";
  }
  if (h.last_offset_delta < 0) return "negative last offset delta " + std::to_string(h.last_offset_delta);
  if (h.base_offset < bounds.min_base) {
    return "base offset " + std::to_string(h.base_offset) +
           " goes backwards (expected >= " + std::to_string(bounds.min_base) + ")";
  }
  if (h.base_offset >= bounds.end_offset || h.last_offset() >= bounds.end_offset) {
    return "offsets " + std::to_string(h.base_offset) + ".." + std::to_string(h.last_offset()) +
           " reach the next segment's base " + std::to_string(bounds.end_offset);
  }
  return "";
}

std::optional<batch::Header> probe_batch(int fd, const std::string& path, int64_t pos, int64_t limit,
                                         OffsetBounds bounds, bool check_crc, std::vector<uint8_t>& buf,
                                         std::string* why) {
  uint8_t hdr[batch::kHeaderSize];
  if (pos + kHeader > limit || read_at(fd, hdr, kHeader, pos, path) != kHeader) {
    *why = "torn batch header (" + std::to_string(limit - pos) + " bytes)";
    return std::nullopt;
  }
  auto h = batch::parse_header(hdr, sizeof hdr);
  *why = implausible_header(*h, pos, limit, bounds);
  if (!why->empty()) return std::nullopt;
  if (!check_crc) return h;
  const int64_t total = static_cast<int64_t>(h->total_size());
  buf.resize(static_cast<size_t>(total));
  if (read_at(fd, buf.data(), total, pos, path) != total) {
    *why = "short read";
    return std::nullopt;
  }
  *why = batch::validate(buf.data(), buf.size());
  if (!why->empty()) return std::nullopt;
  return h;
}

int64_t find_next_batch(int fd, const std::string& path, int64_t from, int64_t limit, OffsetBounds bounds,
                        batch::Header* found) {
  std::vector<uint8_t> chunk;
  std::vector<uint8_t> scratch;
  for (int64_t start = from; start + kHeader <= limit; start += kChunk) {
    // Each chunk overlaps the next by a header so that no candidate's
    // header straddles two reads unseen.
    const int64_t want = std::min(kChunk + kHeader, limit - start);
    chunk.resize(static_cast<size_t>(want));
    const int64_t got = read_at(fd, chunk.data(), want, start, path);
    const int64_t last = std::min(got - kHeader, kChunk - 1);
    for (int64_t i = 0; i <= last; ++i) {
      if (chunk[static_cast<size_t>(i) + batch::kMagicPos] != batch::kMagic) continue;
      auto h = batch::parse_header(chunk.data() + i, static_cast<size_t>(got - i));
      if (!implausible_header(*h, start + i, limit, bounds).empty()) continue;
      std::string why;
      if (probe_batch(fd, path, start + i, limit, bounds, true, scratch, &why)) {
        if (found) *found = *h;
        return start + i;
      }
    }
  }
  return -1;
}

bool unused_header(const uint8_t* header, int64_t segment_base) {
  if (std::all_of(header, header + batch::kHeaderSize, [](uint8_t b) { return b == 0; })) return true;
  const auto h = batch::parse_header(header, batch::kHeaderSize);
  return h && h->base_offset < segment_base;
}

}  // namespace keel
