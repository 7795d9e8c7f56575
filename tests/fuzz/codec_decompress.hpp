// The body of the four codec fuzzers (codec_gzip, codec_snappy, codec_lz4,
// codec_zstd): the input is a compressed records section. Malformed bytes
// and output beyond the cap must end in keel::sdk::Error; what does
// decompress must come back the same through compress and decompress.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <keel/codec.hpp>
#include <keel/plugin.hpp>
#include <string>

namespace keel::fuzz {

inline int fuzz_decompress(batch::Compression c, const uint8_t* data, size_t size) {
  // Small enough that a bomb is caught quickly, large enough for real batches.
  constexpr size_t kMax = size_t{1} << 20;
  std::string plain;
  try {
    plain = codec::decompress(c, data, size, kMax);
  } catch (const sdk::Error&) {
    return 0;
  }
  if (plain.size() > kMax) {
    std::fprintf(stderr, "%s: decompressed %zu bytes past the %zu-byte cap\n", batch::compression_name(c),
                 plain.size(), kMax);
    std::abort();
  }
  const std::string packed = codec::compress(c, reinterpret_cast<const uint8_t*>(plain.data()), plain.size());
  const std::string again =
      codec::decompress(c, reinterpret_cast<const uint8_t*>(packed.data()), packed.size(), kMax);
  if (again != plain) {
    std::fprintf(stderr, "%s: compress then decompress changed %zu bytes into %zu\n",
                 batch::compression_name(c), plain.size(), again.size());
    std::abort();
  }
  return 0;
}

}  // namespace keel::fuzz
