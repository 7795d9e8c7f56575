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
// decompression bombs. It may hold one byte over the cap, which is how an
// overflow is noticed without a separate probe.
class BoundedOutput {
 public:
  BoundedOutput(const char* codec, size_t max_size, size_t input_size);

  // Ensures room() > 0, growing geometrically; throws once past the cap.
  void make_room();
  uint8_t* tail() { return reinterpret_cast<uint8_t*>(buf_.data()) + size_; }
  size_t room() const { return buf_.size() - size_; }
  void advance(size_t n) { size_ += n; }
  size_t size() const { return size_; }
  // Grows to exactly size() + n or throws if that passes the cap.
  uint8_t* append(size_t n);
  std::string take();

 private:
  size_t cap_plus_one() const;
  [[noreturn]] void too_big() const;

  const char* codec_;
  size_t max_;
  size_t size_ = 0;
  std::string buf_;
};

std::string gzip_compress(const uint8_t* data, size_t len);
std::string gzip_decompress(const uint8_t* data, size_t len, size_t max_size);
std::string snappy_compress(const uint8_t* data, size_t len);
std::string snappy_decompress(const uint8_t* data, size_t len, size_t max_size);
std::string lz4_compress(const uint8_t* data, size_t len);
std::string lz4_decompress(const uint8_t* data, size_t len, size_t max_size);
std::string zstd_compress(const uint8_t* data, size_t len);
std::string zstd_decompress(const uint8_t* data, size_t len, size_t max_size);

}  // namespace keel::codec::detail
