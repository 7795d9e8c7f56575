// gzip as Kafka uses it: an RFC 1952 gzip stream (Java's GZIPOutputStream,
// librdkafka's zlib with a gzip wrapper).
#define ZLIB_CONST
#include <zlib.h>

#include <algorithm>
#include <keel/plugin.hpp>
#include <limits>

#include "codecs.hpp"

namespace keel::codec::detail {
namespace {

constexpr int kGzipWindowBits = 15 + 16;  // +16: gzip header and trailer
constexpr int kAutoWindowBits = 15 + 32;  // +32: accept gzip or zlib headers
constexpr size_t kMaxChunk = std::numeric_limits<uInt>::max();

std::string zlib_message(const z_stream& s, int rc) {
  return s.msg != nullptr ? s.msg : "zlib error " + std::to_string(rc);
}

}  // namespace

std::string gzip_compress(const uint8_t* data, size_t len) {
  z_stream s{};
  if (deflateInit2(&s, Z_DEFAULT_COMPRESSION, Z_DEFLATED, kGzipWindowBits, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw sdk::Error(KEEL_ERR_INTERNAL, "gzip: deflateInit2 failed (out of memory?)");
  }
  std::string out(deflateBound(&s, static_cast<uLong>(len)), '\0');
  s.next_out = reinterpret_cast<Bytef*>(out.data());
  s.avail_out = static_cast<uInt>(std::min(out.size(), kMaxChunk));
  size_t fed = 0;
  int rc = Z_OK;
  while (rc == Z_OK) {
    if (s.avail_in == 0 && fed < len) {
      s.next_in = data + fed;
      s.avail_in = static_cast<uInt>(std::min(len - fed, kMaxChunk));
      fed += s.avail_in;
    }
    rc = deflate(&s, fed == len ? Z_FINISH : Z_NO_FLUSH);
  }
  const size_t produced = s.total_out;
  const std::string msg = zlib_message(s, rc);
  deflateEnd(&s);
  if (rc != Z_STREAM_END) throw sdk::Error(KEEL_ERR_INTERNAL, "gzip: deflate failed: " + msg);
  out.resize(produced);
  return out;
}

void gzip_decompress(const uint8_t* data, size_t len, size_t max_size, std::string& buf) {
  z_stream s{};
  if (inflateInit2(&s, kAutoWindowBits) != Z_OK) {
    throw sdk::Error(KEEL_ERR_INTERNAL, "gzip: inflateInit2 failed (out of memory?)");
  }
  struct End {
    z_stream* s;
    ~End() { inflateEnd(s); }
  } end{&s};
  BoundedOutput out("gzip", max_size, len, buf);
  size_t fed = 0;
  for (;;) {
    if (s.avail_in == 0 && fed < len) {
      s.next_in = data + fed;
      s.avail_in = static_cast<uInt>(std::min(len - fed, kMaxChunk));
      fed += s.avail_in;
    }
    out.make_room();
    s.next_out = out.tail();
    s.avail_out = static_cast<uInt>(std::min(out.room(), kMaxChunk));
    const uInt before = s.avail_out;
    const int rc = inflate(&s, Z_NO_FLUSH);
    out.advance(before - s.avail_out);
    const bool input_done = s.avail_in == 0 && fed == len;
    if (rc == Z_STREAM_END) {
      if (input_done) break;
      inflateReset(&s);  // another gzip member follows, as gzip(1) allows
    } else if (rc == Z_BUF_ERROR) {
      if (input_done) corrupt("gzip", "the stream is truncated (input ended before its end)");
    } else if (rc != Z_OK) {
      corrupt("gzip", "inflate failed: " + zlib_message(s, rc));
    }
  }
  out.finish();
}

}  // namespace keel::codec::detail
