// Writes records in the format of consumer-offsets.journal, the side file
// that held committed offsets before the internal topic, for tests of its
// reader and of the migration.
#pragma once

#include <cstdint>
#include <keel/crc32c.hpp>
#include <string>

namespace keel::test {

inline void put_u32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out += static_cast<char>((v >> (8 * i)) & 0xFFu);
}
inline void put_u64(std::string& out, uint64_t v) {
  put_u32(out, static_cast<uint32_t>(v));
  put_u32(out, static_cast<uint32_t>(v >> 32));
}
inline void put_str(std::string& out, const std::string& s) {
  put_u32(out, static_cast<uint32_t>(s.size()));
  out += s;
}
inline std::string journal_frame(const std::string& payload) {
  std::string rec;
  put_u32(rec, static_cast<uint32_t>(payload.size()));
  put_u32(rec, crc32c(payload.data(), payload.size()));
  return rec + payload;
}
inline std::string journal_commit(const std::string& group, const std::string& topic, int32_t partition,
                                  int64_t offset, const std::string& metadata = "", int64_t time = 1000) {
  std::string p(1, '\x01');
  put_str(p, group);
  put_str(p, topic);
  put_u32(p, static_cast<uint32_t>(partition));
  put_u64(p, static_cast<uint64_t>(offset));
  put_u64(p, static_cast<uint64_t>(time));
  put_str(p, metadata);
  return journal_frame(p);
}
inline std::string journal_remove_topic(const std::string& topic) {
  std::string p(1, '\x02');
  put_str(p, topic);
  return journal_frame(p);
}

}  // namespace keel::test
