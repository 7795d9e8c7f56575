// lz4 as Kafka uses it for RecordBatch v2: the standard LZ4 frame format
// (magic 04 22 4d 18). Written like librdkafka: 64 KiB independent blocks,
// no content checksum, which the Java client's KafkaLZ4BlockInputStream reads.
#include <lz4frame.h>

#include <keel/plugin.hpp>
#include <memory>

#include "codecs.hpp"

namespace keel::codec::detail {

std::string lz4_compress(const uint8_t* data, size_t len) {
  LZ4F_preferences_t prefs{};
  prefs.frameInfo.blockSizeID = LZ4F_max64KB;
  prefs.frameInfo.blockMode = LZ4F_blockIndependent;
  prefs.frameInfo.contentChecksumFlag = LZ4F_noContentChecksum;
  prefs.frameInfo.frameType = LZ4F_frame;
  std::string out(LZ4F_compressFrameBound(len, &prefs), '\0');
  const size_t n = LZ4F_compressFrame(out.data(), out.size(), data, len, &prefs);
  if (LZ4F_isError(n)) {
    throw sdk::Error(KEEL_ERR_INTERNAL,
                     std::string("lz4: LZ4F_compressFrame failed: ") + LZ4F_getErrorName(n));
  }
  out.resize(n);
  return out;
}

void lz4_decompress(const uint8_t* data, size_t len, size_t max_size, std::string& buf) {
  LZ4F_dctx* raw = nullptr;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&raw, LZ4F_VERSION))) {
    throw sdk::Error(KEEL_ERR_INTERNAL, "lz4: cannot create a decompression context (out of memory?)");
  }
  std::unique_ptr<LZ4F_dctx, decltype(&LZ4F_freeDecompressionContext)> ctx(raw,
                                                                           LZ4F_freeDecompressionContext);
  BoundedOutput out("lz4", max_size, len, buf);
  size_t pos = 0;
  for (;;) {
    out.make_room();
    size_t dst = out.room();
    size_t src = len - pos;
    // Returns 0 when a frame ends; the context then starts on the next one.
    const size_t hint = LZ4F_decompress(ctx.get(), out.tail(), &dst, data + pos, &src, nullptr);
    if (LZ4F_isError(hint)) corrupt("lz4", std::string("frame decoding failed: ") + LZ4F_getErrorName(hint));
    pos += src;
    out.advance(dst);
    if (pos == len) {
      if (hint == 0) break;
      if (dst == 0) corrupt("lz4", "the frame is truncated (input ended before its end mark)");
    }
  }
  out.finish();
}

}  // namespace keel::codec::detail
