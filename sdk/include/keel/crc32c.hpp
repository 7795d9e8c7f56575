// CRC-32C (Castagnoli), the checksum of Kafka RecordBatch v2.
//
// Header-only so plugins get it without linking the kernel. On x86-64 the
// SSE4.2 crc32 instruction is used when the CPU has it (checked once at run
// time, so the binary still runs on CPUs without it); elsewhere a
// slicing-by-8 table does the work.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace keel {

namespace detail {

// Reflected form of the Castagnoli polynomial 0x1EDC6F41.
inline constexpr uint32_t kCrc32cPoly = 0x82F63B78u;

using Crc32cTables = std::array<std::array<uint32_t, 256>, 8>;

// tables[k][b] is the CRC contribution of byte b followed by k zero bytes,
// which lets the software path fold 8 bytes per step.
constexpr Crc32cTables make_crc32c_tables() {
  Crc32cTables t{};
  for (uint32_t b = 0; b < 256; ++b) {
    uint32_t c = b;
    for (int i = 0; i < 8; ++i) c = (c >> 1) ^ ((c & 1u) ? kCrc32cPoly : 0u);
    t[0][b] = c;
  }
  for (size_t k = 1; k < 8; ++k) {
    for (size_t b = 0; b < 256; ++b) t[k][b] = (t[k - 1][b] >> 8) ^ t[0][t[k - 1][b] & 0xFFu];
  }
  return t;
}

inline constexpr Crc32cTables kCrc32cTables = make_crc32c_tables();

// Portable implementation; public so tests can check the fast path against it.
inline uint32_t crc32c_sw(const void* data, size_t len, uint32_t crc = 0) {
  const auto* p = static_cast<const uint8_t*>(data);
  const auto& t = kCrc32cTables;
  uint32_t c = ~crc;
  if constexpr (std::endian::native == std::endian::little) {
    while (len >= 8) {
      uint32_t lo;
      uint32_t hi;
      std::memcpy(&lo, p, 4);
      std::memcpy(&hi, p + 4, 4);
      lo ^= c;
      c = t[7][lo & 0xFFu] ^ t[6][(lo >> 8) & 0xFFu] ^ t[5][(lo >> 16) & 0xFFu] ^ t[4][lo >> 24] ^
          t[3][hi & 0xFFu] ^ t[2][(hi >> 8) & 0xFFu] ^ t[1][(hi >> 16) & 0xFFu] ^ t[0][hi >> 24];
      p += 8;
      len -= 8;
    }
  }
  while (len > 0) {
    c = (c >> 8) ^ t[0][(c ^ *p) & 0xFFu];
    ++p;
    --len;
  }
  return ~c;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) inline uint32_t crc32c_hw(const void* data, size_t len, uint32_t crc = 0) {
  const auto* p = static_cast<const uint8_t*>(data);
  uint64_t c = ~crc;
  while (len >= 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    c = _mm_crc32_u64(c, word);
    p += 8;
    len -= 8;
  }
  auto c32 = static_cast<uint32_t>(c);
  while (len > 0) {
    c32 = _mm_crc32_u8(c32, *p);
    ++p;
    --len;
  }
  return ~c32;
}

inline bool crc32c_hw_available() {
  // __builtin_cpu_init makes the answer valid even when the first call
  // happens from another translation unit's static initializer.
  static const bool available = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("sse4.2") != 0;
  }();
  return available;
}
#else
inline bool crc32c_hw_available() { return false; }
#endif

}  // namespace detail

// CRC-32C of [data, data + len). Pass a previous result as `crc` to continue
// it: crc32c(b, nb, crc32c(a, na)) is the CRC of a followed by b.
inline uint32_t crc32c(const void* data, size_t len, uint32_t crc = 0) {
#if defined(__x86_64__)
  if (detail::crc32c_hw_available()) return detail::crc32c_hw(data, len, crc);
#endif
  return detail::crc32c_sw(data, len, crc);
}

}  // namespace keel
