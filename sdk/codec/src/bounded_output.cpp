#include <algorithm>
#include <keel/plugin.hpp>
#include <limits>

#include "codecs.hpp"

namespace keel::codec::detail {

void corrupt(const char* codec, const std::string& what) {
  throw sdk::Error(KEEL_ERR_CORRUPT, std::string(codec) + " records section is corrupt: " + what);
}

BoundedOutput::BoundedOutput(const char* codec, size_t max_size, size_t input_size, std::string& buf)
    : codec_(codec), max_(max_size), buf_(buf) {
  // Records compress 2-10x in practice; start near that to avoid regrowth,
  // but never above the cap (+1 to detect overflow). A reused string that is
  // already longer keeps its length: growing it again would only zero bytes.
  const size_t guess = input_size > std::numeric_limits<size_t>::max() / 4 ? input_size : input_size * 4;
  const size_t start = std::min(std::max<size_t>(guess, 4096), cap_plus_one());
  if (buf_.size() < start) buf_.resize(start);
}

size_t BoundedOutput::cap_plus_one() const {
  return max_ == std::numeric_limits<size_t>::max() ? max_ : max_ + 1;
}

void BoundedOutput::make_room() {
  if (size_ > max_) too_big();
  if (size_ < usable()) return;
  const size_t doubled = buf_.size() > std::numeric_limits<size_t>::max() / 2
                             ? std::numeric_limits<size_t>::max()
                             : buf_.size() * 2;
  buf_.resize(std::min(std::max<size_t>(doubled, 4096), cap_plus_one()));
  if (size_ == usable()) too_big();
}

uint8_t* BoundedOutput::append(size_t n) {
  if (n > max_ - std::min(size_, max_) || size_ > max_) too_big();
  if (buf_.size() < size_ + n) buf_.resize(size_ + n);
  uint8_t* p = tail();
  size_ += n;
  return p;
}

void BoundedOutput::finish() {
  if (size_ > max_) too_big();
  buf_.resize(size_);
}

void BoundedOutput::too_big() const {
  throw sdk::Error(KEEL_ERR_CORRUPT, std::string(codec_) + " records section decompresses to more than " +
                                         std::to_string(max_) +
                                         " bytes, the per-batch cap: the batch is corrupt or a "
                                         "decompression bomb (raise the cap only if producers "
                                         "legitimately send batches that large)");
}

}  // namespace keel::codec::detail
