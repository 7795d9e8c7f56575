// The Kafka transport's primitive codec (protocol/reader.hpp, writer.hpp)
// against the protocol guide's type table ("Protocol Primitive Types"):
// exact bytes for known values, round trips at the edges, and hostile input
// (truncated, negative or over-long lengths, over-long varints) refused with
// ProtocolError rather than read past the buffer. kafka_reader_test.cpp
// holds the fuzzer's regression inputs for lengths near 2^64.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "transport/kafka/protocol/reader.hpp"
#include "transport/kafka/protocol/writer.hpp"

namespace keel::kafka {
namespace {

using Bytes = std::vector<uint8_t>;

// Everything a Writer holds (no file spans), as bytes.
Bytes bytes_of(Writer& w) {
  Bytes out;
  for (const Chunk& c : w.finish()) out.insert(out.end(), c.bytes.begin(), c.bytes.end());
  return out;
}

template <class Fn>
Bytes encode(Fn&& fn) {
  Writer w;
  fn(w);
  return bytes_of(w);
}

Reader reader_of(const Bytes& b) { return Reader(b.data(), b.size()); }

// A value and its encoding as the protocol guide gives it.
template <class T>
struct Case {
  T value;
  Bytes bytes;
};

TEST(KafkaCodec, FixedWidthIntegersAreBigEndian) {
  EXPECT_EQ(encode([](Writer& w) { w.int8(-2); }), (Bytes{0xfe}));
  EXPECT_EQ(encode([](Writer& w) { w.int16(0x0102); }), (Bytes{0x01, 0x02}));
  EXPECT_EQ(encode([](Writer& w) { w.int32(-2); }), (Bytes{0xff, 0xff, 0xff, 0xfe}));
  EXPECT_EQ(encode([](Writer& w) { w.uint32(0xdeadbeef); }), (Bytes{0xde, 0xad, 0xbe, 0xef}));
  EXPECT_EQ(encode([](Writer& w) { w.int64(std::numeric_limits<int64_t>::min()); }),
            (Bytes{0x80, 0, 0, 0, 0, 0, 0, 0}));

  const Bytes all = encode([](Writer& w) {
    w.int8(std::numeric_limits<int8_t>::min());
    w.int16(std::numeric_limits<int16_t>::min());
    w.int32(std::numeric_limits<int32_t>::max());
    w.int64(std::numeric_limits<int64_t>::max());
    w.uint32(std::numeric_limits<uint32_t>::max());
  });
  Reader r = reader_of(all);
  EXPECT_EQ(r.int8(), std::numeric_limits<int8_t>::min());
  EXPECT_EQ(r.int16(), std::numeric_limits<int16_t>::min());
  EXPECT_EQ(r.int32(), std::numeric_limits<int32_t>::max());
  EXPECT_EQ(r.int64(), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(r.uint32(), std::numeric_limits<uint32_t>::max());
  EXPECT_EQ(r.remaining(), 0u);
}

TEST(KafkaCodec, BooleanReadsAnyNonZeroByteAsTrue) {
  // "When reading a boolean value, any non-zero value is considered true."
  const Bytes b = {0x00, 0x01, 0x02, 0xff};
  Reader r = reader_of(b);
  EXPECT_FALSE(r.boolean());
  EXPECT_TRUE(r.boolean());
  EXPECT_TRUE(r.boolean());
  EXPECT_TRUE(r.boolean());
  EXPECT_EQ(encode([](Writer& w) { w.boolean(true); }), (Bytes{0x01}));
}

TEST(KafkaCodec, VarintsUseZigZagAsProtocolBuffers) {
  const Case<int64_t> cases[] = {
      {0, {0x00}},
      {-1, {0x01}},
      {1, {0x02}},
      {-2, {0x03}},
      {63, {0x7e}},
      {-64, {0x7f}},
      {64, {0x80, 0x01}},
      {-65, {0x81, 0x01}},
      {std::numeric_limits<int32_t>::max(), {0xfe, 0xff, 0xff, 0xff, 0x0f}},
      {std::numeric_limits<int32_t>::min(), {0xff, 0xff, 0xff, 0xff, 0x0f}},
      {std::numeric_limits<int64_t>::max(), {0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}},
      {std::numeric_limits<int64_t>::min(), {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(encode([&](Writer& w) { w.varint(c.value); }), c.bytes) << c.value;
    Reader r = reader_of(c.bytes);
    EXPECT_EQ(r.varint(), c.value);
    EXPECT_EQ(r.remaining(), 0u) << c.value;
  }
}

TEST(KafkaCodec, UnsignedVarintsAreBase128LittleEndianGroups) {
  const Case<uint64_t> cases[] = {
      {0, {0x00}},
      {127, {0x7f}},
      {128, {0x80, 0x01}},
      {300, {0xac, 0x02}},  // the Protocol Buffers guide's own example
      {16384, {0x80, 0x80, 0x01}},
      {std::numeric_limits<uint32_t>::max(), {0xff, 0xff, 0xff, 0xff, 0x0f}},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(encode([&](Writer& w) { w.uvarint(c.value); }), c.bytes) << c.value;
    Reader r = reader_of(c.bytes);
    EXPECT_EQ(r.uvarint(), c.value);
  }
}

TEST(KafkaCodec, VarintsLongerThanTenBytesOrCutShortAreRefused) {
  // Ten bytes that all say "more follows": no 64-bit value is that long.
  const Bytes endless(11, 0xff);
  Reader a = reader_of(endless);
  EXPECT_THROW(a.uvarint(), ProtocolError);
  Reader b = reader_of(endless);
  EXPECT_THROW(b.varint(), ProtocolError);
  const Bytes cut = {0x80, 0x80};
  Reader c = reader_of(cut);
  EXPECT_THROW(c.uvarint(), ProtocolError);
  Reader empty;
  EXPECT_THROW(empty.varint(), ProtocolError);
}

TEST(KafkaCodec, StringsHaveAnInt16LengthAndMinusOneForNull) {
  EXPECT_EQ(encode([](Writer& w) { w.string("kafka", false); }),
            (Bytes{0x00, 0x05, 'k', 'a', 'f', 'k', 'a'}));
  EXPECT_EQ(encode([](Writer& w) { w.nullable_string(std::nullopt, false); }), (Bytes{0xff, 0xff}));
  EXPECT_EQ(encode([](Writer& w) { w.string("", false); }), (Bytes{0x00, 0x00}));

  const Bytes b = {0x00, 0x02, 'o', 'k', 0xff, 0xff, 0x00, 0x00};
  Reader r = reader_of(b);
  EXPECT_EQ(r.nullable_string(), "ok");
  EXPECT_EQ(r.nullable_string(), std::nullopt);
  EXPECT_EQ(r.string(), "");
  // A STRING (not nullable) "must not be negative".
  const Bytes null = {0xff, 0xff};
  Reader n = reader_of(null);
  EXPECT_THROW(n.string(), ProtocolError);
}

TEST(KafkaCodec, CompactStringsStoreLengthPlusOneAndZeroForNull) {
  EXPECT_EQ(encode([](Writer& w) { w.string("kafka", true); }), (Bytes{0x06, 'k', 'a', 'f', 'k', 'a'}));
  EXPECT_EQ(encode([](Writer& w) { w.string("", true); }), (Bytes{0x01}));
  EXPECT_EQ(encode([](Writer& w) { w.nullable_string(std::nullopt, true); }), (Bytes{0x00}));
  // 127 bytes take a two-byte length (128 = 0x80 0x01).
  const std::string long_text(127, 'x');
  const Bytes encoded = encode([&](Writer& w) { w.string(long_text, true); });
  ASSERT_EQ(encoded.size(), 129u);
  EXPECT_EQ(encoded[0], 0x80);
  EXPECT_EQ(encoded[1], 0x01);
  Reader r = reader_of(encoded);
  EXPECT_EQ(r.compact_string(), long_text);

  const Bytes null = {0x00};
  Reader n = reader_of(null);
  EXPECT_EQ(n.compact_nullable_string(), std::nullopt);
  Reader m = reader_of(null);
  EXPECT_THROW(m.compact_string(), ProtocolError);
}

TEST(KafkaCodec, AnyStringFollowsTheFlexibleFlag) {
  const Bytes both = {0x00, 0x01, 'a', 0x02, 'b'};
  Reader r = reader_of(both);
  EXPECT_EQ(r.any_string(false), "a");
  EXPECT_EQ(r.any_string(true), "b");
  const Bytes nulls = {0xff, 0xff, 0x00};
  Reader n = reader_of(nulls);
  EXPECT_EQ(n.any_nullable_string(false), std::nullopt);
  EXPECT_EQ(n.any_nullable_string(true), std::nullopt);
}

TEST(KafkaCodec, StringLongerThanWhatRemainsIsRefused) {
  const Bytes classic = {0x00, 0x05, 'a', 'b'};
  Reader r = reader_of(classic);
  EXPECT_THROW(r.string(), ProtocolError);
  const Bytes compact = {0x06, 'a', 'b'};
  Reader c = reader_of(compact);
  EXPECT_THROW(c.compact_string(), ProtocolError);
}

TEST(KafkaCodec, BytesHaveAnInt32LengthOrACompactOne) {
  EXPECT_EQ(encode([](Writer& w) { w.bytes("\x01\x02", false); }), (Bytes{0, 0, 0, 2, 0x01, 0x02}));
  EXPECT_EQ(encode([](Writer& w) { w.bytes("\x01\x02", true); }), (Bytes{0x03, 0x01, 0x02}));
  EXPECT_EQ(encode([](Writer& w) { w.null_bytes(false); }), (Bytes{0xff, 0xff, 0xff, 0xff}));
  EXPECT_EQ(encode([](Writer& w) { w.null_bytes(true); }), (Bytes{0x00}));

  const Bytes b = {0, 0, 0, 1, 'z', 0xff, 0xff, 0xff, 0xff, 0x02, 'y', 0x00};
  Reader r = reader_of(b);
  EXPECT_EQ(r.nullable_bytes(false), "z");
  EXPECT_EQ(r.nullable_bytes(false), std::nullopt);
  EXPECT_EQ(r.nullable_bytes(true), "y");
  EXPECT_EQ(r.bytes(true), "");  // null read where a value is wanted: empty
  EXPECT_EQ(r.remaining(), 0u);

  const Bytes short_bytes = {0, 0, 0, 9, 'a'};
  Reader s = reader_of(short_bytes);
  EXPECT_THROW(s.nullable_bytes(false), ProtocolError);
}

TEST(KafkaCodec, ArraysCountInt32OrCompactPlusOneWithNull) {
  EXPECT_EQ(encode([](Writer& w) { w.array_length(3, false); }), (Bytes{0, 0, 0, 3}));
  EXPECT_EQ(encode([](Writer& w) { w.array_length(-1, false); }), (Bytes{0xff, 0xff, 0xff, 0xff}));
  EXPECT_EQ(encode([](Writer& w) { w.array_length(3, true); }), (Bytes{0x04}));
  EXPECT_EQ(encode([](Writer& w) { w.array_length(-1, true); }), (Bytes{0x00}));
  EXPECT_EQ(encode([](Writer& w) { w.array_length(0, true); }), (Bytes{0x01}));

  const Bytes b = {0, 0, 0, 2, 0x0a, 0x0b, 0xff, 0xff, 0xff, 0xff};
  Reader r = reader_of(b);
  ASSERT_EQ(r.array_length(false), 2);
  EXPECT_EQ(r.int8(), 0x0a);
  EXPECT_EQ(r.int8(), 0x0b);
  EXPECT_EQ(r.array_length(false), -1);
}

TEST(KafkaCodec, ArrayLengthsBelowMinusOneOrBeyondTheRequestAreRefused) {
  const Bytes minus_two = {0xff, 0xff, 0xff, 0xfe};
  Reader r = reader_of(minus_two);
  EXPECT_THROW(r.array_length(false), ProtocolError);
  // Three elements announced, one byte left: each element takes at least one.
  const Bytes too_many = {0, 0, 0, 3, 0x00};
  Reader t = reader_of(too_many);
  EXPECT_THROW(t.array_length(false), ProtocolError);
  const Bytes compact_too_many = {0x04, 0x00};
  Reader c = reader_of(compact_too_many);
  EXPECT_THROW(c.array_length(true), ProtocolError);
}

TEST(KafkaCodec, TaggedFieldsAreSkippedWhateverTheyHold) {
  // KIP-482: count, then (tag, size, size bytes) per field.
  const Bytes b = {0x02, 0x00, 0x03, 'a', 'b', 'c', 0x05, 0x01, 'z', 0x7f};
  Reader r = reader_of(b);
  r.tagged_fields();
  EXPECT_EQ(r.int8(), 0x7f);  // the field after the section
  EXPECT_EQ(encode([](Writer& w) { w.tagged_fields(true); }), (Bytes{0x00}));
  EXPECT_TRUE(encode([](Writer& w) { w.tagged_fields(false); }).empty());
}

TEST(KafkaCodec, TaggedFieldLongerThanTheRequestIsRefused) {
  const Bytes b = {0x01, 0x00, 0x09, 'a'};
  Reader r = reader_of(b);
  EXPECT_THROW(r.tagged_fields(), ProtocolError);
  const Bytes missing_field = {0x02, 0x00, 0x00};  // two announced, one present
  Reader m = reader_of(missing_field);
  EXPECT_THROW(m.tagged_fields(), ProtocolError);
}

TEST(KafkaCodec, EveryReadPastTheEndThrowsAndNamesWhatIsMissing) {
  const Bytes three = {1, 2, 3};
  Reader r = reader_of(three);
  try {
    r.int32();
    FAIL() << "int32 from 3 bytes did not throw";
  } catch (const ProtocolError& e) {
    EXPECT_STREQ(e.what(), "request truncated: needs 4 more bytes, 3 left");
  }
  EXPECT_EQ(r.remaining(), 3u);  // nothing consumed by the failed read
  EXPECT_THROW(r.int64(), ProtocolError);
  EXPECT_EQ(r.int16(), 0x0102);
  EXPECT_THROW(r.int16(), ProtocolError);
}

TEST(KafkaCodec, RecordsTravelAsAFileSpanBetweenEncodedBytes) {
  Writer w;
  w.int32(7);
  w.records(FileSpan{42, 100, 300, nullptr}, true);
  w.int16(1);
  w.records(FileSpan{42, 0, 0, nullptr}, false);  // empty: length only, no span
  EXPECT_EQ(w.size(), 4u + 2u + 300u + 2u + 4u);
  const auto chunks = w.finish();
  ASSERT_EQ(chunks.size(), 3u);
  // The compact length of 300 bytes is uvarint(301) = 0xad 0x02.
  EXPECT_EQ(chunks[0].bytes, std::string("\0\0\0\x07\xad\x02", 6));
  EXPECT_EQ(chunks[1].file.fd, 42);
  EXPECT_EQ(chunks[1].file.position, 100);
  EXPECT_EQ(chunks[1].file.length, 300);
  EXPECT_EQ(chunks[2].bytes, std::string("\0\x01\0\0\0\0", 6));
}

}  // namespace
}  // namespace keel::kafka
