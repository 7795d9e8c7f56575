// A snappy block's length preamble is checked against what its bytes could
// possibly encode before any output is allocated.
#include <gtest/gtest.h>

#include <keel/codec.hpp>
#include <keel/plugin.hpp>
#include <string>

namespace keel {
namespace {

using batch::Compression;

std::string snappy_decompress_error(const std::string& block, size_t max_size) {
  try {
    codec::decompress(Compression::Snappy, reinterpret_cast<const uint8_t*>(block.data()), block.size(),
                      max_size);
  } catch (const sdk::Error& e) {
    EXPECT_EQ(e.code(), KEEL_ERR_CORRUPT);
    return e.what();
  }
  return "";
}

TEST(CodecSnappyBound, APreambleClaimingMoreThanTheBytesCanHoldIsRefusedBeforeAllocating) {
  // uvarint 0xffffffff (4 GiB) then one literal byte: six bytes in all.
  const std::string block("\xff\xff\xff\xff\x0f\x00", 6);
  const std::string why = snappy_decompress_error(block, SIZE_MAX);
  EXPECT_NE(why.find("more than snappy can encode"), std::string::npos) << why;
}

TEST(CodecSnappyBound, TheMostCompressibleInputStillDecompresses) {
  // 1 MiB of one byte compresses near snappy's best ratio.
  const std::string plain(1 << 20, 'x');
  const std::string packed =
      codec::compress(Compression::Snappy, reinterpret_cast<const uint8_t*>(plain.data()), plain.size());
  EXPECT_EQ(
      codec::decompress(Compression::Snappy, reinterpret_cast<const uint8_t*>(packed.data()), packed.size()),
      plain);
}

}  // namespace
}  // namespace keel
