// zstd as Kafka uses it: standard zstd frames (magic 28 b5 2f fd). Decoded
// as a stream because the Java client (zstd-jni's ZstdOutputStream) does not
// record the content size in the frame header.
#include <zstd.h>

#include <keel/plugin.hpp>
#include <memory>

#include "codecs.hpp"

namespace keel::codec::detail {

std::string zstd_compress(const uint8_t* data, size_t len) {
  std::string out(ZSTD_compressBound(len), '\0');
  const size_t n = ZSTD_compress(out.data(), out.size(), data, len, ZSTD_CLEVEL_DEFAULT);
  if (ZSTD_isError(n)) {
    throw sdk::Error(KEEL_ERR_INTERNAL, std::string("zstd: ZSTD_compress failed: ") + ZSTD_getErrorName(n));
  }
  out.resize(n);
  return out;
}

std::string zstd_decompress(const uint8_t* data, size_t len, size_t max_size) {
  std::unique_ptr<ZSTD_DCtx, decltype(&ZSTD_freeDCtx)> ctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
  if (!ctx)
    throw sdk::Error(KEEL_ERR_INTERNAL, "zstd: cannot create a decompression context (out of memory?)");
  BoundedOutput out("zstd", max_size, len);
  ZSTD_inBuffer in{data, len, 0};
  for (;;) {
    out.make_room();
    ZSTD_outBuffer o{out.tail(), out.room(), 0};
    // Returns 0 when a frame ends; following frames are decoded in turn.
    const size_t hint = ZSTD_decompressStream(ctx.get(), &o, &in);
    if (ZSTD_isError(hint)) corrupt("zstd", std::string("frame decoding failed: ") + ZSTD_getErrorName(hint));
    out.advance(o.pos);
    if (in.pos == in.size) {
      if (hint == 0) break;
      if (o.pos < o.size) corrupt("zstd", "the frame is truncated (input ended before its end)");
    }
  }
  return out.take();
}

}  // namespace keel::codec::detail
