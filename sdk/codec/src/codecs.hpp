// Internal to the codec library: one compress/decompress pair per codec, and
// the bounded output buffer the streaming decoders share.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace keel::codec::detail {

// Throws Error(KEEL_ERR_CORRUPT) naming the codec and what failed.
[[noreturn]] void corrupt(const char* codec, const std::string& what);

// Growable output that refuses to grow past max_size: the guard against
// decompression bombs. It writes into the caller's string and keeps the bytes
// that string already holds as room, so a caller that reuses one string
// (the produce validator, one per thread) allocates nothing once it has
// grown. It may hold one byte over the cap, which is how an overflow is
// noticed without a separate probe.
class BoundedOutput {
 public:
  BoundedOutput(const char* codec, size_t max_size, size_t input_size, std::string& buf);

  // Ensures room() > 0, growing geometrically; throws once past the cap.
  void make_room();
  uint8_t* tail() { return reinterpret_cast<uint8_t*>(buf_.data()) + size_; }
  size_t room() const { return usable() - size_; }
  void advance(size_t n) { size_ += n; }
  size_t size() const { return size_; }
  // Grows to exactly size() + n or throws if that passes the cap.
  uint8_t* append(size_t n);
  // Cuts the string to the bytes written; throws if they pass the cap.
  void finish();

 private:
  size_t cap_plus_one() const;
  // A reused string may be longer than this call's cap allows.
  size_t usable() const { return buf_.size() < cap_plus_one() ? buf_.size() : cap_plus_one(); }
  [[noreturn]] void too_big() const;

  const char* codec_;
  size_t max_;
  size_t size_ = 0;
  std::string& buf_;
};

// The decompressors write into `out` (see BoundedOutput) and leave it holding
// exactly the decompressed bytes.
std::string gzip_compress(const uint8_t* data, size_t len);
void gzip_decompress(const uint8_t* data, size_t len, size_t max_size, std::string& out);
std::string snappy_compress(const uint8_t* data, size_t len);
void snappy_decompress(const uint8_t* data, size_t len, size_t max_size, std::string& out);
std::string lz4_compress(const uint8_t* data, size_t len);
void lz4_decompress(const uint8_t* data, size_t len, size_t max_size, std::string& out);
std::string zstd_compress(const uint8_t* data, size_t len);
void zstd_decompress(const uint8_t* data, size_t len, size_t max_size, std::string& out);

}  // namespace keel::codec::detail
