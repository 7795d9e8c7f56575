// Fuzzes zstd decompression of a records section (see codec_decompress.hpp).
#include "codec_decompress.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return keel::fuzz::fuzz_decompress(keel::batch::Compression::Zstd, data, size);
}
