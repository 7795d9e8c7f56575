// zstd as Kafka uses it: standard zstd frames (magic 28 b5 2f fd). Decoded
// as a stream because the Java client (zstd-jni's ZstdOutputStream) does not
// record the content size in the frame header.
#include <zstd.h>

#include <keel/plugin.hpp>
#include <memory>

#include "codecs.hpp"

namespace keel::codec::detail {

namespace {

// One context per thread, reused: creating one per batch showed up as 5 % of
// a compaction's samples. Each call starts a new frame, so no state leaks
// from one batch to the next.
ZSTD_CCtx* thread_cctx() {
  thread_local std::unique_ptr<ZSTD_CCtx, decltype(&ZSTD_freeCCtx)> ctx(ZSTD_createCCtx(), ZSTD_freeCCtx);
  if (!ctx) throw sdk::Error(KEEL_ERR_INTERNAL, "zstd: cannot create a compression context (out of memory?)");
  return ctx.get();
}

ZSTD_DCtx* thread_dctx() {
  thread_local std::unique_ptr<ZSTD_DCtx, decltype(&ZSTD_freeDCtx)> ctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
  if (!ctx)
    throw sdk::Error(KEEL_ERR_INTERNAL, "zstd: cannot create a decompression context (out of memory?)");
  return ctx.get();
}

}  // namespace

std::string zstd_compress(const uint8_t* data, size_t len) {
  std::string out(ZSTD_compressBound(len), '\0');
  const size_t n = ZSTD_compressCCtx(thread_cctx(), out.data(), out.size(), data, len, ZSTD_CLEVEL_DEFAULT);
  if (ZSTD_isError(n)) {
    throw sdk::Error(KEEL_ERR_INTERNAL,
                     std::string("zstd: ZSTD_compressCCtx failed: ") + ZSTD_getErrorName(n));
  }
  out.resize(n);
  return out;
}

void zstd_decompress(const uint8_t* data, size_t len, size_t max_size, std::string& buf) {
  ZSTD_DCtx* ctx = thread_dctx();
  // A previous call that stopped on corrupt input may have left a frame
  // half decoded.
  ZSTD_DCtx_reset(ctx, ZSTD_reset_session_only);
  BoundedOutput out("zstd", max_size, len, buf);
  ZSTD_inBuffer in{data, len, 0};
  for (;;) {
    out.make_room();
    ZSTD_outBuffer o{out.tail(), out.room(), 0};
    // Returns 0 when a frame ends; following frames are decoded in turn.
    const size_t hint = ZSTD_decompressStream(ctx, &o, &in);
    if (ZSTD_isError(hint)) corrupt("zstd", std::string("frame decoding failed: ") + ZSTD_getErrorName(hint));
    out.advance(o.pos);
    if (in.pos == in.size) {
      if (hint == 0) break;
      if (o.pos < o.size) corrupt("zstd", "the frame is truncated (input ended before its end)");
    }
  }
  out.finish();
}

}  // namespace keel::codec::detail
