// snappy as Kafka uses it. librdkafka sends one raw snappy block; the Java
// client and kafka-python send snappy-java's xerial framing: an 8-byte magic,
// int32 version and compatible-version, then [int32 length, raw block]
// chunks, all big-endian. Both are read; the Java framing is written, since
// every client reads it.
#include <snappy.h>

#include <algorithm>
#include <cstring>
#include <keel/plugin.hpp>
#include <keel/record_batch.hpp>

#include "codecs.hpp"

namespace keel::codec::detail {
namespace {

constexpr uint8_t kXerialMagic[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
constexpr size_t kXerialHeaderSize = sizeof kXerialMagic + 8;
constexpr int32_t kXerialVersion = 1;
constexpr int32_t kXerialCompatibleVersion = 1;
// snappy-java's default block size, the one the Java client writes with.
constexpr size_t kXerialBlockSize = 32 * 1024;
// Bytes out per byte in, at most (64 / 3, rounded up).
constexpr size_t kMaxExpansion = 22;

void put_int32(std::string& out, int32_t v) {
  uint8_t b[4];
  batch::detail::store_be<int32_t>(b, v);
  out.append(reinterpret_cast<const char*>(b), sizeof b);
}

void append_raw_block(BoundedOutput& out, const uint8_t* block, size_t len, const std::string& where) {
  const auto* src = reinterpret_cast<const char*>(block);
  size_t n = 0;
  if (!snappy::GetUncompressedLength(src, len, &n)) {
    corrupt("snappy", "the length preamble of " + where + " is malformed");
  }
  // No snappy element yields more than 64 bytes from 3 (a copy with a 2-byte
  // offset), so a block inflates at most 64/3 times. A preamble claiming
  // more is corrupt: refused before the output is allocated, or a few bytes
  // would make us zero-fill up to the cap (64 MiB) for nothing.
  if (n / kMaxExpansion > len) {
    corrupt("snappy", "the length preamble of " + where + " claims " + std::to_string(n) + " bytes from " +
                          std::to_string(len) + ", more than snappy can encode in them");
  }
  uint8_t* dst = out.append(n);  // checks the cap before the block is inflated
  if (!snappy::RawUncompress(src, len, reinterpret_cast<char*>(dst))) {
    corrupt("snappy", where + " does not decompress (truncated or damaged)");
  }
}

}  // namespace

std::string snappy_compress(const uint8_t* data, size_t len) {
  std::string out(reinterpret_cast<const char*>(kXerialMagic), sizeof kXerialMagic);
  put_int32(out, kXerialVersion);
  put_int32(out, kXerialCompatibleVersion);
  std::string block;
  for (size_t pos = 0; pos < len; pos += kXerialBlockSize) {
    const size_t n = std::min(kXerialBlockSize, len - pos);
    block.resize(snappy::MaxCompressedLength(n));
    size_t written = 0;
    snappy::RawCompress(reinterpret_cast<const char*>(data + pos), n, block.data(), &written);
    put_int32(out, static_cast<int32_t>(written));
    out.append(block.data(), written);
  }
  return out;
}

void snappy_decompress(const uint8_t* data, size_t len, size_t max_size, std::string& buf) {
  BoundedOutput out("snappy", max_size, len, buf);
  if (len < sizeof kXerialMagic || std::memcmp(data, kXerialMagic, sizeof kXerialMagic) != 0) {
    append_raw_block(out, data, len, "the raw snappy block");
    out.finish();
    return;
  }
  if (len < kXerialHeaderSize) corrupt("snappy", "the xerial header is truncated");
  size_t pos = kXerialHeaderSize;
  for (int chunk = 0; pos < len; ++chunk) {
    const std::string where = "xerial chunk " + std::to_string(chunk) + " at byte " + std::to_string(pos);
    if (len - pos < 4) corrupt("snappy", "the length of " + where + " is truncated");
    const auto n = batch::detail::load_be<int32_t>(data + pos);
    pos += 4;
    if (n < 0 || static_cast<size_t>(n) > len - pos) {
      corrupt("snappy",
              where + " claims " + std::to_string(n) + " bytes but " + std::to_string(len - pos) + " remain");
    }
    append_raw_block(out, data + pos, static_cast<size_t>(n), where);
    pos += static_cast<size_t>(n);
  }
  out.finish();
}

}  // namespace keel::codec::detail
