#include "groups/legacy_offsets_journal.hpp"

#include <spdlog/spdlog.h>

#include <cerrno>
#include <fstream>
#include <iterator>
#include <keel/crc32c.hpp>
#include <string_view>

#include "common/error.hpp"

namespace keel {

namespace {

constexpr uint8_t kTypeCommit = 1;
constexpr uint8_t kTypeRemoveTopic = 2;
constexpr size_t kHeaderBytes = 8;
// Far above any sane commit, low enough that a garbage length read from a
// torn header is recognised as one.
constexpr size_t kMaxPayloadBytes = 16 << 20;

uint32_t get_u32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  return v;
}

// Bounds-checked cursor over one payload.
struct Reader {
  std::string_view data;
  size_t pos = 0;
  bool ok = true;

  bool has(size_t n) {
    if (data.size() - pos < n) ok = false;
    return ok;
  }
  uint8_t u8() { return has(1) ? static_cast<uint8_t>(data[pos++]) : 0; }
  uint32_t u32() {
    if (!has(4)) return 0;
    uint32_t v = get_u32(data.data() + pos);
    pos += 4;
    return v;
  }
  uint64_t u64() {
    uint64_t lo = u32();
    uint64_t hi = u32();
    return lo | (hi << 32);
  }
  std::string str() {
    uint32_t n = u32();
    if (!has(n)) return {};
    std::string s(data.substr(pos, n));
    pos += n;
    return s;
  }
  bool done() const { return ok && pos == data.size(); }
};

}  // namespace

LegacyOffsets read_legacy_offsets_journal(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(KEEL_ERR_IO, path + ": cannot open it: " + errno_text(errno));
  const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) fail(KEEL_ERR_IO, path + ": reading failed: " + errno_text(errno));

  LegacyOffsets out;
  size_t pos = 0;
  while (pos < data.size()) {
    const size_t remaining = data.size() - pos;
    if (remaining < kHeaderBytes) break;
    const uint32_t len = get_u32(data.data() + pos);
    const uint32_t crc = get_u32(data.data() + pos + 4);
    // Zero length: what a file extended with zeros by a crash looks like.
    if (len == 0 || len > kMaxPayloadBytes || remaining - kHeaderBytes < len) break;
    const std::string_view payload(data.data() + pos + kHeaderBytes, len);
    if (crc32c(payload.data(), payload.size()) != crc) break;

    Reader r{payload};
    const uint8_t type = r.u8();
    if (type == kTypeCommit) {
      std::string group = r.str();
      std::string topic = r.str();
      const auto partition = static_cast<int32_t>(r.u32());
      LegacyOffset c;
      c.offset = static_cast<int64_t>(r.u64());
      c.commit_time_ms = static_cast<int64_t>(r.u64());
      c.metadata = r.str();
      if (r.done()) {
        out[{std::move(group), std::move(topic), partition}] = std::move(c);
        pos += kHeaderBytes + len;
        continue;
      }
    } else if (type == kTypeRemoveTopic) {
      std::string topic = r.str();
      if (r.done()) {
        std::erase_if(out, [&](const auto& e) { return std::get<1>(e.first) == topic; });
        pos += kHeaderBytes + len;
        continue;
      }
    }
    fail(KEEL_ERR_CORRUPT,
         path + ": record at position " + std::to_string(pos) + " has a valid checksum but " +
             (type == kTypeCommit || type == kTypeRemoveTopic ? "a malformed body"
                                                              : "unknown type " + std::to_string(type)) +
             "; the offsets in it cannot be migrated. Move the file aside to start without them");
  }
  if (pos < data.size()) {
    spdlog::warn(
        "{}: ignored {} bytes at position {} (a torn or corrupt last commit); earlier commits migrate", path,
        data.size() - pos, pos);
  }
  return out;
}

}  // namespace keel
