// The Kafka transport's request decoder (header-only, so tested here):
// hostile lengths are refused with ProtocolError before anything is read or
// allocated. Inputs found by the kafka_request fuzzer (tests/fuzz).
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "../../plugins/transport/kafka/protocol/reader.hpp"

namespace keel::kafka {
namespace {

// uvarint 2^64 - 1: ten bytes, the last carrying the top bit.
const std::vector<uint8_t> kMaxUvarint = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
// uvarint 2^63: as a signed length minus one it overflowed int64.
const std::vector<uint8_t> kUvarint2Pow63 = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01};

Reader reader_of(const std::vector<uint8_t>& bytes) { return Reader(bytes.data(), bytes.size()); }

TEST(KafkaReader, CompactBytesNearTwoToThe64AreRefusedNotReadAsNull) {
  for (const auto* bytes : {&kMaxUvarint, &kUvarint2Pow63}) {
    Reader r = reader_of(*bytes);
    EXPECT_THROW(r.nullable_bytes(true), ProtocolError);
  }
}

TEST(KafkaReader, CompactArrayAndStringLengthsNearTwoToThe64AreRefused) {
  for (const auto* bytes : {&kMaxUvarint, &kUvarint2Pow63}) {
    Reader a = reader_of(*bytes);
    EXPECT_THROW(a.array_length(true), ProtocolError);
    Reader s = reader_of(*bytes);
    EXPECT_THROW(s.compact_nullable_string(), ProtocolError);
  }
}

TEST(KafkaReader, CompactNullAndEmptyStillDecode) {
  const std::vector<uint8_t> bytes = {0x00, 0x01, 0x00, 0x01, 0x03, 'h', 'i'};
  Reader r = reader_of(bytes);
  EXPECT_FALSE(r.nullable_bytes(true).has_value());
  EXPECT_EQ(r.nullable_bytes(true), std::string_view());
  EXPECT_EQ(r.array_length(true), -1);
  EXPECT_EQ(r.array_length(true), 0);
  EXPECT_EQ(r.compact_string(), "hi");
  EXPECT_EQ(r.remaining(), 0u);
}

TEST(KafkaReader, ArrayCountOfTwoToThe31IsRefusedBeforeAnyElement) {
  const std::vector<uint8_t> classic = {0x7f, 0xff, 0xff, 0xff, 0x00};
  Reader r = reader_of(classic);
  EXPECT_THROW(r.array_length(false), ProtocolError);
  const std::vector<uint8_t> compact = {0x80, 0x80, 0x80, 0x80, 0x08, 0x00};  // 2^31 + 1
  Reader c = reader_of(compact);
  EXPECT_THROW(c.array_length(true), ProtocolError);
}

TEST(KafkaReader, UnknownTaggedFieldsAreSkipped) {
  // Two tags (7: 3 bytes, 300: 0 bytes), then an int16 the caller reads next.
  const std::vector<uint8_t> bytes = {0x02, 0x07, 0x03, 'a', 'b', 'c', 0xac, 0x02, 0x00, 0x12, 0x34};
  Reader r = reader_of(bytes);
  r.tagged_fields();
  EXPECT_EQ(r.int16(), 0x1234);
  EXPECT_EQ(r.remaining(), 0u);
}

TEST(KafkaReader, TaggedFieldsBeyondTheRequestAreRefused) {
  const std::vector<uint8_t> too_long = {0x01, 0x00, 0x05, 'x'};  // one tag of 5 bytes, 1 left
  Reader a = reader_of(too_long);
  EXPECT_THROW(a.tagged_fields(), ProtocolError);
  const std::vector<uint8_t> many = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, 0x00};  // 2^32 - 1 tags
  Reader b = reader_of(many);
  EXPECT_THROW(b.tagged_fields(), ProtocolError);
  const std::vector<uint8_t> over_long(11, 0xff);  // a varint longer than 10 bytes
  Reader c = reader_of(over_long);
  EXPECT_THROW(c.tagged_fields(), ProtocolError);
}

TEST(KafkaReader, UuidIsSixteenBytes) {
  std::vector<uint8_t> bytes(17, 0);
  bytes[0] = 0xab;
  bytes[15] = 0xcd;
  Reader r = reader_of(bytes);
  const auto id = r.uuid();
  EXPECT_EQ(id[0], 0xab);
  EXPECT_EQ(id[15], 0xcd);
  EXPECT_EQ(r.remaining(), 1u);
  EXPECT_THROW(r.uuid(), ProtocolError);
}

}  // namespace
}  // namespace keel::kafka
