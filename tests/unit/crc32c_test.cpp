#include <gtest/gtest.h>

#include <cstdint>
#include <keel/crc32c.hpp>
#include <random>
#include <string>
#include <vector>

namespace {

// Known-answer vectors from RFC 3720 (iSCSI) appendix B.4 and the CRC
// catalogue's "check" value.
struct Vector {
  std::vector<uint8_t> data;
  uint32_t crc;
};

std::vector<Vector> known_vectors() {
  std::vector<Vector> v;
  const std::string check = "123456789";
  v.push_back({std::vector<uint8_t>(check.begin(), check.end()), 0xE3069283u});
  v.push_back({std::vector<uint8_t>(32, 0x00), 0x8A9136AAu});
  v.push_back({std::vector<uint8_t>(32, 0xFF), 0x62A8AB43u});
  std::vector<uint8_t> up(32);
  std::vector<uint8_t> down(32);
  for (int i = 0; i < 32; ++i) {
    up[i] = static_cast<uint8_t>(i);
    down[i] = static_cast<uint8_t>(31 - i);
  }
  v.push_back({up, 0x46DD794Eu});
  v.push_back({down, 0x113FDB5Cu});
  v.push_back({{}, 0x00000000u});
  return v;
}

std::vector<uint8_t> random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> out(n);
  for (auto& b : out) b = static_cast<uint8_t>(rng());
  return out;
}

TEST(Crc32c, KnownVectors) {
  for (const auto& v : known_vectors()) {
    EXPECT_EQ(keel::crc32c(v.data.data(), v.data.size()), v.crc) << "length " << v.data.size();
  }
}

TEST(Crc32c, SoftwareKnownVectors) {
  for (const auto& v : known_vectors()) {
    EXPECT_EQ(keel::detail::crc32c_sw(v.data.data(), v.data.size()), v.crc) << "length " << v.data.size();
  }
}

TEST(Crc32c, ComposesAcrossSplits) {
  const auto buf = random_bytes(1000, 7);
  const uint32_t whole = keel::crc32c(buf.data(), buf.size());
  for (size_t split :
       {size_t{0}, size_t{1}, size_t{7}, size_t{8}, size_t{9}, size_t{500}, size_t{999}, size_t{1000}}) {
    const uint32_t first = keel::crc32c(buf.data(), split);
    EXPECT_EQ(keel::crc32c(buf.data() + split, buf.size() - split, first), whole) << "split " << split;
    const uint32_t sw_first = keel::detail::crc32c_sw(buf.data(), split);
    EXPECT_EQ(keel::detail::crc32c_sw(buf.data() + split, buf.size() - split, sw_first), whole)
        << "split " << split;
  }
}

TEST(Crc32c, ChangesWhenAnyBitFlips) {
  auto buf = random_bytes(64, 11);
  const uint32_t original = keel::crc32c(buf.data(), buf.size());
  for (size_t i = 0; i < buf.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      buf[i] ^= static_cast<uint8_t>(1u << bit);
      EXPECT_NE(keel::crc32c(buf.data(), buf.size()), original) << "byte " << i << " bit " << bit;
      buf[i] ^= static_cast<uint8_t>(1u << bit);
    }
  }
}

TEST(Crc32c, HardwareMatchesSoftwareOnAllLengthsAndAlignments) {
#if defined(__x86_64__)
  if (!keel::detail::crc32c_hw_available()) GTEST_SKIP() << "CPU lacks SSE4.2";
  const auto buf = random_bytes(300 + 16, 42);
  for (size_t start = 0; start < 16; ++start) {
    for (size_t len = 0; len <= 300; ++len) {
      const uint8_t* p = buf.data() + start;
      ASSERT_EQ(keel::detail::crc32c_hw(p, len), keel::detail::crc32c_sw(p, len))
          << "start " << start << " length " << len;
      ASSERT_EQ(keel::detail::crc32c_hw(p, len, 0xDEADBEEFu), keel::detail::crc32c_sw(p, len, 0xDEADBEEFu))
          << "start " << start << " length " << len << " with a seed";
    }
  }
#else
  GTEST_SKIP() << "no hardware CRC-32C path on this architecture";
#endif
}

}  // namespace
