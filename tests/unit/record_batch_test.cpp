#include <gtest/gtest.h>

#include <cstdint>
#include <keel/record_batch.hpp>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace {

namespace kb = keel::batch;
using keel::sdk::Error;

const uint8_t* u8(const std::string& s) { return reinterpret_cast<const uint8_t*>(s.data()); }
uint8_t* u8(std::string& s) { return reinterpret_cast<uint8_t*>(s.data()); }

std::string hex(const std::string& s) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    if (!out.empty()) out.push_back(' ');
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

std::string byte_string(std::initializer_list<int> v) {
  std::string s;
  for (int b : v) s.push_back(static_cast<char>(b));
  return s;
}

std::string records_section(const std::string& batch) { return batch.substr(kb::kHeaderSize); }

// Recomputes the CRC (and optionally the length) after a test edits bytes the
// CRC covers, so decode() gets past validate() to the record parser.
void reseal(std::string& batch) {
  kb::detail::store_be<int32_t>(u8(batch) + kb::kLengthPos,
                                static_cast<int32_t>(batch.size() - kb::kLogOverhead));
  kb::detail::store_be<uint32_t>(u8(batch) + kb::kCrcPos, kb::compute_crc(u8(batch), batch.size()));
}

keel_status decode_status(const std::string& batch, std::string* message = nullptr) {
  try {
    kb::decode(u8(batch), batch.size());
  } catch (const Error& e) {
    if (message != nullptr) *message = e.what();
    return e.code();
  }
  return KEEL_OK;
}

keel_status decode_records_status(const kb::Header& h, const std::string& records,
                                  std::string* message = nullptr) {
  try {
    kb::decode_records(h, u8(records), records.size());
  } catch (const Error& e) {
    if (message != nullptr) *message = e.what();
    return e.code();
  }
  return KEEL_OK;
}

// A batch exercising every nullable field, binary values and headers.
std::vector<kb::Record> varied_records() {
  std::vector<kb::Record> rs;
  rs.push_back({0, 1700000000000, "k1", "v1", {}});
  rs.push_back({0, 1700000000005, std::nullopt, "value with null key", {}});
  rs.push_back({0, 1699999999990, "tombstone", std::nullopt, {}});  // earlier than the first: negative delta
  rs.push_back({0, 1700000000001, "", "", {}});
  rs.push_back({0, 1700000000002, std::nullopt, std::nullopt, {}});
  rs.push_back({0, 1700000000003, std::string("\0k\0", 3), std::string("\0\x01\xff\0binary\0", 11), {}});
  rs.push_back(
      {0,
       1700000000004,
       "with-headers",
       "v",
       {{"trace", "abc"}, {"empty", ""}, {"null", std::nullopt}, {"", "empty key"}, {"trace", "dup"}}});
  rs.push_back({0, 1700000000004, "big", std::string(300, 'x'), {{"bin", std::string("\0\0", 2)}}});
  return rs;
}

std::string build_varied(int64_t base_offset) {
  kb::Builder b(base_offset);
  for (const auto& r : varied_records()) b.add(r);
  return b.build();
}

// ------------------------------------------------------------------ varints

TEST(RecordBatchVarint, EncodesZigzag) {
  const auto enc = [](int64_t v) {
    std::string s;
    kb::put_varint(s, v);
    return hex(s);
  };
  EXPECT_EQ(enc(0), "00");
  EXPECT_EQ(enc(-1), "01");
  EXPECT_EQ(enc(1), "02");
  EXPECT_EQ(enc(2), "04");
  EXPECT_EQ(enc(63), "7e");
  EXPECT_EQ(enc(-64), "7f");
  EXPECT_EQ(enc(64), "80 01");
  EXPECT_EQ(enc(-65), "81 01");
  EXPECT_EQ(enc(std::numeric_limits<int32_t>::max()), "fe ff ff ff 0f");
  EXPECT_EQ(enc(std::numeric_limits<int32_t>::min()), "ff ff ff ff 0f");
  EXPECT_EQ(enc(std::numeric_limits<int64_t>::min()), "ff ff ff ff ff ff ff ff ff 01");
}

TEST(RecordBatchVarint, RoundTripsAndReportsSize) {
  const std::vector<int64_t> values = {0,
                                       1,
                                       -1,
                                       127,
                                       -128,
                                       300,
                                       1LL << 40,
                                       -(1LL << 40),
                                       std::numeric_limits<int64_t>::max(),
                                       std::numeric_limits<int64_t>::min()};
  for (int64_t v : values) {
    std::string s;
    kb::put_varint(s, v);
    EXPECT_EQ(s.size(), kb::varint_size(v)) << v;
    const uint8_t* p = u8(s);
    int64_t out = 0;
    ASSERT_TRUE(kb::get_varint(p, p + s.size(), out)) << v;
    EXPECT_EQ(out, v);
    EXPECT_EQ(p, u8(s) + s.size());
  }
}

TEST(RecordBatchVarint, RejectsOverrunAndOverlongWithoutMoving) {
  int64_t out = 0;
  const std::string truncated = byte_string({0x80, 0x80});
  const uint8_t* p = u8(truncated);
  EXPECT_FALSE(kb::get_varint(p, p + truncated.size(), out));
  EXPECT_EQ(p, u8(truncated));

  const std::string eleven(11, '\x80');
  p = u8(eleven);
  EXPECT_FALSE(kb::get_varint(p, p + eleven.size(), out));

  const std::string tenth_too_big = byte_string({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02});
  p = u8(tenth_too_big);
  EXPECT_FALSE(kb::get_varint(p, p + tenth_too_big.size(), out));

  const std::string empty;
  p = u8(empty);
  EXPECT_FALSE(kb::get_varint(p, p, out));

  int32_t out32 = 0;
  std::string six;
  kb::put_varint(six, 1LL << 40);
  p = u8(six);
  EXPECT_FALSE(kb::get_varint32(p, p + six.size(), out32));
  EXPECT_EQ(p, u8(six));
  std::string just_over;
  kb::put_varint(just_over, static_cast<int64_t>(std::numeric_limits<int32_t>::max()) + 1);
  p = u8(just_over);
  EXPECT_FALSE(kb::get_varint32(p, p + just_over.size(), out32));
}

// ------------------------------------------------------ byte-exact goldens

TEST(RecordBatchGolden, KeyK1AndNullValueRecordBytes) {
  const std::string batch = kb::Builder(0).add("k1", std::nullopt, 1000).build();
  // length 8, attributes 0, ts delta 0, offset delta 0, key "k1" (04 6b 31),
  // null value (01), no headers.
  EXPECT_EQ(hex(records_section(batch)), "10 00 00 00 04 6b 31 01 00");
  EXPECT_EQ(batch.size(), kb::kHeaderSize + 9);
}

TEST(RecordBatchGolden, NullKeyEncodesAsMinusOne) {
  const std::string batch = kb::Builder(0).add(std::nullopt, "v", 5).add("", std::nullopt, 7).build();
  // Second record: ts delta 2 (04), offset delta 1 (02), empty key (00).
  EXPECT_EQ(hex(records_section(batch)), "0e 00 00 00 01 02 76 00 0c 00 04 02 00 01 00");
}

TEST(RecordBatchGolden, HeaderBytes) {
  const std::string batch =
      kb::Builder(0).add(std::nullopt, std::nullopt, 0, {{"h", "x"}, {"n", std::nullopt}}).build();
  // header count 2 (04), then key "h" value "x", then key "n" with null value.
  EXPECT_EQ(hex(records_section(batch)), "1a 00 00 00 01 01 04 02 68 02 78 02 6e 01");
}

// Record body as encoded by an independent Kafka client (kafkajs'
// v0_record fixture, which omits the leading length varint).
TEST(RecordBatchGolden, MatchesIndependentClientRecordBody) {
  const std::string expected_body =
      byte_string({0,   0,   0,   10,  107, 101, 121, 45,  48,  24, 115, 111, 109, 101, 45,  118, 97,
                   108, 117, 101, 45,  48,  2,   24,  104, 101, 97, 100, 101, 114, 45,  107, 101, 121,
                   45,  48,  28,  104, 101, 97,  100, 101, 114, 45, 118, 97,  108, 117, 101, 45,  48});
  const std::string batch =
      kb::Builder(0).add("key-0", "some-value-0", 123, {{"header-key-0", "header-value-0"}}).build();
  std::string length;
  kb::put_varint(length, static_cast<int64_t>(expected_body.size()));
  EXPECT_EQ(hex(records_section(batch)), hex(length + expected_body));
}

// A complete three-record batch from an independent Kafka client's
// produce-request fixture (kafkajs, Produce v3). It writes partition leader
// epoch 0, producer id -1, epoch 0 and base sequence 10.
const std::string& independent_client_batch() {
  static const std::string batch = byte_string({
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02,
      0xd2, 0x0a, 0x45, 0xed, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x01, 0x5f, 0x8e, 0xbb, 0x3a,
      0x0c, 0x00, 0x00, 0x01, 0x5f, 0x8e, 0xbb, 0x3a, 0x0c, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x03, 0x92, 0x01, 0x00, 0x00, 0x00, 0x30, 0x6b,
      0x65, 0x79, 0x2d, 0x39, 0x64, 0x30, 0x66, 0x33, 0x34, 0x38, 0x63, 0x62, 0x32, 0x65, 0x37, 0x33, 0x30,
      0x65, 0x31, 0x65, 0x64, 0x63, 0x34, 0x3e, 0x73, 0x6f, 0x6d, 0x65, 0x2d, 0x76, 0x61, 0x6c, 0x75, 0x65,
      0x2d, 0x61, 0x31, 0x37, 0x62, 0x34, 0x63, 0x38, 0x31, 0x66, 0x39, 0x65, 0x63, 0x64, 0x31, 0x65, 0x38,
      0x39, 0x36, 0x65, 0x33, 0x06, 0x02, 0x61, 0x02, 0x62, 0x02, 0x63, 0x02, 0x64, 0x02, 0x63, 0x02, 0x65,
      0x82, 0x01, 0x00, 0x00, 0x02, 0x30, 0x6b, 0x65, 0x79, 0x2d, 0x63, 0x37, 0x30, 0x37, 0x33, 0x65, 0x39,
      0x36, 0x35, 0x63, 0x33, 0x34, 0x62, 0x34, 0x63, 0x63, 0x36, 0x34, 0x34, 0x32, 0x3e, 0x73, 0x6f, 0x6d,
      0x65, 0x2d, 0x76, 0x61, 0x6c, 0x75, 0x65, 0x2d, 0x36, 0x35, 0x64, 0x66, 0x34, 0x32, 0x32, 0x30, 0x37,
      0x30, 0x64, 0x37, 0x61, 0x64, 0x37, 0x33, 0x39, 0x31, 0x34, 0x66, 0x02, 0x02, 0x61, 0x02, 0x62, 0x82,
      0x01, 0x00, 0x00, 0x04, 0x30, 0x6b, 0x65, 0x79, 0x2d, 0x31, 0x36, 0x39, 0x33, 0x62, 0x31, 0x38, 0x34,
      0x61, 0x39, 0x62, 0x35, 0x32, 0x64, 0x62, 0x65, 0x30, 0x33, 0x62, 0x63, 0x3e, 0x73, 0x6f, 0x6d, 0x65,
      0x2d, 0x76, 0x61, 0x6c, 0x75, 0x65, 0x2d, 0x33, 0x66, 0x63, 0x62, 0x36, 0x35, 0x66, 0x66, 0x63, 0x61,
      0x30, 0x38, 0x37, 0x63, 0x62, 0x61, 0x32, 0x30, 0x61, 0x64, 0x02, 0x02, 0x61, 0x02, 0x62,
  });
  return batch;
}

TEST(RecordBatchGolden, BuilderMatchesIndependentClientBatchByteForByte) {
  const int64_t ts = 1509928155660;
  std::string built =
      kb::Builder(0)
          .producer(-1, 0, 10)
          .add("key-9d0f348cb2e730e1edc4", "some-value-a17b4c81f9ecd1e896e3", ts,
               {{"a", "b"}, {"c", "d"}, {"c", "e"}})
          .add("key-c7073e965c34b4cc6442", "some-value-65df422070d7ad73914f", ts, {{"a", "b"}})
          .add("key-1693b184a9b52dbe03bc", "some-value-3fcb65ffca087cba20ad", ts, {{"a", "b"}})
          .build();
  ASSERT_EQ(built.size(), 270u);
  // We write Kafka's "no epoch" (-1) like the Java producer; this client
  // writes 0. The field is outside the CRC.
  EXPECT_EQ(kb::parse_header(u8(built), built.size())->partition_leader_epoch, -1);
  kb::set_partition_leader_epoch(u8(built), 0);
  EXPECT_EQ(hex(built), hex(independent_client_batch()));
}

TEST(RecordBatchGolden, DecodesIndependentClientBatch) {
  const std::string& batch = independent_client_batch();
  EXPECT_EQ(kb::validate(u8(batch), batch.size()), "");
  const auto h = kb::parse_header(u8(batch), batch.size());
  ASSERT_TRUE(h);
  EXPECT_EQ(h->crc, 0xd20a45edu);
  EXPECT_EQ(h->base_sequence, 10);
  EXPECT_EQ(h->records_count, 3);
  EXPECT_EQ(h->last_offset(), 2);
  const auto records = kb::decode(u8(batch), batch.size());
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].key, "key-9d0f348cb2e730e1edc4");
  EXPECT_EQ(records[0].value, "some-value-a17b4c81f9ecd1e896e3");
  EXPECT_EQ(records[0].timestamp, 1509928155660);
  const std::vector<kb::RecordHeader> headers = {{"a", "b"}, {"c", "d"}, {"c", "e"}};
  EXPECT_EQ(records[0].headers, headers);
  EXPECT_EQ(records[2].offset, 2);
  EXPECT_EQ(records[2].key, "key-1693b184a9b52dbe03bc");
}

// A gzip-compressed, log-append-time batch from the same client's fixtures:
// valid, but its records cannot be read until the codec layer exists.
TEST(RecordBatchGolden, GzipBatchValidatesButDecodeIsUnsupported) {
  const std::string batch = byte_string({
      0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   113, 0,   0,   0,   0,   2,   228, 195, 36,  165,
      0,   9,   0,   0,   0,   0,   0,   0,   1,   115, 237, 245, 255, 167, 0,   0,   1,   115, 237, 245, 255,
      201, 255, 255, 255, 255, 255, 255, 255, 255, 0,   0,   0,   0,   0,   0,   0,   0,   0,   1,   31,  139,
      8,   0,   0,   0,   0,   0,   0,   19,  11,  99,  96,  96,  224, 202, 78,  173, 212, 53,  112, 40,  75,
      204, 41,  77,  213, 53,  208, 53,  50,  48,  50,  208, 53,  176, 208, 53,  52,  9,   49,  52,  183, 50,
      52,  182, 50,  176, 208, 51,  179, 48,  138, 98,  0,   0,   181, 227, 241, 167, 44,  0,   0,   0,
  });
  EXPECT_EQ(kb::validate(u8(batch), batch.size()), "");
  const auto h = kb::parse_header(u8(batch), batch.size());
  ASSERT_TRUE(h);
  EXPECT_EQ(h->compression(), kb::Compression::Gzip);
  EXPECT_TRUE(h->log_append_time());
  EXPECT_FALSE(h->transactional());
  EXPECT_EQ(h->base_timestamp, 1597425188775);
  EXPECT_EQ(h->max_timestamp, 1597425188809);
  EXPECT_EQ(h->total_size(), batch.size());
  std::string message;
  EXPECT_EQ(decode_status(batch, &message), KEEL_ERR_UNSUPPORTED);
  EXPECT_NE(message.find("gzip"), std::string::npos) << message;
}

// ------------------------------------------------------------ header fields

TEST(RecordBatchHeader, BuilderFillsEveryField) {
  const std::string batch = kb::Builder(1000)
                                .producer(77, 3, 40)
                                .attributes(kb::kTransactionalFlag)
                                .add("a", "1", 500)
                                .add("b", "2", 900)
                                .add("c", "3", 700)
                                .build();
  const auto h = kb::parse_header(u8(batch), batch.size());
  ASSERT_TRUE(h);
  EXPECT_EQ(h->base_offset, 1000);
  EXPECT_EQ(h->total_size(), batch.size());
  EXPECT_EQ(h->partition_leader_epoch, -1);
  EXPECT_EQ(h->magic, 2);
  EXPECT_EQ(h->crc, kb::compute_crc(u8(batch), batch.size()));
  EXPECT_EQ(h->attributes, kb::kTransactionalFlag);
  EXPECT_TRUE(h->transactional());
  EXPECT_FALSE(h->control());
  EXPECT_FALSE(h->log_append_time());
  EXPECT_EQ(h->compression(), kb::Compression::None);
  EXPECT_EQ(h->last_offset_delta, 2);
  EXPECT_EQ(h->last_offset(), 1002);
  EXPECT_EQ(h->base_timestamp, 500);
  EXPECT_EQ(h->max_timestamp, 900);
  EXPECT_EQ(h->producer_id, 77);
  EXPECT_EQ(h->producer_epoch, 3);
  EXPECT_EQ(h->base_sequence, 40);
  EXPECT_EQ(h->records_count, 3);
}

TEST(RecordBatchHeader, DefaultsToNoProducer) {
  const std::string batch = kb::Builder().add("k", "v", 1).build();
  const auto h = kb::parse_header(u8(batch), batch.size());
  ASSERT_TRUE(h);
  EXPECT_EQ(h->producer_id, -1);
  EXPECT_EQ(h->producer_epoch, -1);
  EXPECT_EQ(h->base_sequence, -1);
  EXPECT_EQ(h->base_offset, 0);
}

TEST(RecordBatchHeader, ParseNeedsAFullHeader) {
  const std::string batch = kb::Builder().add("k", "v", 1).build();
  EXPECT_FALSE(kb::parse_header(u8(batch), kb::kHeaderSize - 1));
  EXPECT_TRUE(kb::parse_header(u8(batch), kb::kHeaderSize));
}

TEST(RecordBatchHeader, BuilderRejectsCompressionBitsAndEmptyBatches) {
  kb::Builder b;
  try {
    b.attributes(static_cast<int16_t>(kb::Compression::Gzip));
    FAIL() << "compression bits accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), KEEL_ERR_INVALID_ARGUMENT);
  }
  EXPECT_EQ(b.record_count(), 0u);
  try {
    (void)b.build();
    FAIL() << "empty batch built";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), KEEL_ERR_INVALID_ARGUMENT);
  }
}

// ------------------------------------------------------------- round trips

TEST(RecordBatchRoundTrip, VariedRecords) {
  const auto input = varied_records();
  const std::string batch = build_varied(42);
  ASSERT_EQ(kb::validate(u8(batch), batch.size()), "");
  const auto h = kb::parse_header(u8(batch), batch.size());
  EXPECT_EQ(h->max_timestamp, 1700000000005);
  EXPECT_EQ(h->base_timestamp, 1700000000000);
  const auto out = kb::decode(u8(batch), batch.size());
  ASSERT_EQ(out.size(), input.size());
  for (size_t i = 0; i < input.size(); ++i) {
    auto expected = input[i];
    expected.offset = 42 + static_cast<int64_t>(i);
    EXPECT_EQ(out[i], expected) << "record " << i;
  }
}

TEST(RecordBatchRoundTrip, SingleRecord) {
  const std::string batch = kb::Builder(7).add(kb::Record{999, -5, std::nullopt, "only", {}}).build();
  const auto out = kb::decode(u8(batch), batch.size());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].offset, 7);  // the Record's own offset is ignored
  EXPECT_EQ(out[0].timestamp, -5);
  EXPECT_FALSE(out[0].key);
  EXPECT_EQ(out[0].value, "only");
  EXPECT_EQ(kb::parse_header(u8(batch), batch.size())->last_offset_delta, 0);
}

TEST(RecordBatchRoundTrip, ThousandRecords) {
  kb::Builder b(1'000'000);
  for (int i = 0; i < 1000; ++i) {
    b.add("key-" + std::to_string(i), std::string(static_cast<size_t>(i % 200), static_cast<char>(i)),
          1'000'000 + i * 3, {{"i", std::to_string(i)}});
  }
  EXPECT_EQ(b.record_count(), 1000u);
  const std::string batch = b.build();
  ASSERT_EQ(kb::validate(u8(batch), batch.size()), "");
  const auto h = kb::parse_header(u8(batch), batch.size());
  EXPECT_EQ(h->last_offset(), 1'000'999);
  EXPECT_EQ(h->max_timestamp, 1'000'000 + 999 * 3);
  const auto out = kb::decode(u8(batch), batch.size());
  ASSERT_EQ(out.size(), 1000u);
  for (int i = 0; i < 1000; ++i) {
    ASSERT_EQ(out[i].offset, 1'000'000 + i);
    ASSERT_EQ(out[i].timestamp, 1'000'000 + i * 3);
    ASSERT_EQ(out[i].key, "key-" + std::to_string(i));
    ASSERT_EQ(out[i].value->size(), static_cast<size_t>(i % 200));
    ASSERT_EQ(out[i].headers.at(0).value, std::to_string(i));
  }
}

TEST(RecordBatchRoundTrip, LogAppendTimeGivesEveryRecordTheMaxTimestamp) {
  const std::string batch = kb::Builder()
                                .attributes(kb::kLogAppendTimeFlag)
                                .add("a", "1", 10)
                                .add("b", "2", 30)
                                .add("c", "3", 20)
                                .build();
  const auto out = kb::decode(u8(batch), batch.size());
  ASSERT_EQ(out.size(), 3u);
  for (const auto& r : out) EXPECT_EQ(r.timestamp, 30);
}

TEST(RecordBatchRoundTrip, DecodesOnlyTheFirstOfSeveralBatches) {
  const std::string first = kb::Builder(0).add("a", "1", 1).build();
  const std::string both = first + kb::Builder(1).add("b", "2", 2).add("c", "3", 3).build();
  EXPECT_EQ(kb::validate(u8(both), both.size()), "");
  const auto out = kb::decode(u8(both), both.size());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].key, "a");
  const std::string second = both.substr(first.size());
  EXPECT_EQ(kb::decode(u8(second), second.size()).size(), 2u);
}

TEST(RecordBatchRoundTrip, SetBaseOffsetKeepsCrcAndMovesOffsets) {
  std::string batch = build_varied(0);
  const auto crc_before = kb::parse_header(u8(batch), batch.size())->crc;
  kb::set_base_offset(u8(batch), 5'000'000'000LL);
  kb::set_partition_leader_epoch(u8(batch), 9);
  EXPECT_EQ(kb::validate(u8(batch), batch.size()), "");
  const auto h = kb::parse_header(u8(batch), batch.size());
  EXPECT_EQ(h->crc, crc_before);
  EXPECT_EQ(h->base_offset, 5'000'000'000LL);
  EXPECT_EQ(h->partition_leader_epoch, 9);
  const auto out = kb::decode(u8(batch), batch.size());
  for (size_t i = 0; i < out.size(); ++i) EXPECT_EQ(out[i].offset, 5'000'000'000LL + static_cast<int64_t>(i));
}

// -------------------------------------------------------------- validation

TEST(RecordBatchValidate, EveryByteFlipInCrcRangeIsCaught) {
  const std::string batch = build_varied(0);
  for (size_t pos = kb::kCrcPos; pos < batch.size(); ++pos) {
    for (uint8_t mask : {uint8_t{0x01}, uint8_t{0x80}, uint8_t{0xFF}}) {
      std::string bad = batch;
      bad[pos] = static_cast<char>(static_cast<uint8_t>(bad[pos]) ^ mask);
      const std::string why = kb::validate(u8(bad), bad.size());
      ASSERT_NE(why.find("CRC mismatch: stored 0x"), std::string::npos) << "position " << pos << ": " << why;
      EXPECT_EQ(decode_status(bad), KEEL_ERR_CORRUPT) << "position " << pos;
    }
  }
}

TEST(RecordBatchValidate, EveryTruncationIsCaught) {
  const std::string batch = build_varied(0);
  for (size_t len = 0; len < batch.size(); ++len) {
    const std::string why = kb::validate(u8(batch), len);
    ASSERT_EQ(why.rfind("truncated: batch needs ", 0), 0u) << "length " << len << ": " << why;
  }
  const size_t half = batch.size() / 2;
  EXPECT_EQ(kb::validate(u8(batch), half), "truncated: batch needs " + std::to_string(batch.size()) +
                                               " bytes, " + std::to_string(half) + " available");
}

TEST(RecordBatchValidate, WrongMagic) {
  std::string batch = kb::Builder().add("k", "v", 1).build();
  batch[kb::kMagicPos] = 1;
  EXPECT_EQ(kb::validate(u8(batch), batch.size()), "magic 1 is not supported (only RecordBatch v2, magic 2)");
  EXPECT_EQ(decode_status(batch), KEEL_ERR_CORRUPT);
  // A legacy message is shorter than a v2 header: still reported as magic.
  std::string legacy = batch.substr(0, 26);
  kb::detail::store_be<int32_t>(u8(legacy) + kb::kLengthPos, 14);
  EXPECT_EQ(kb::validate(u8(legacy), legacy.size()),
            "magic 1 is not supported (only RecordBatch v2, magic 2)");
}

TEST(RecordBatchValidate, BadBatchLength) {
  std::string batch = kb::Builder().add("k", "v", 1).build();
  kb::detail::store_be<int32_t>(u8(batch) + kb::kLengthPos, 7);
  EXPECT_EQ(kb::validate(u8(batch), batch.size()), "batch length 7 below minimum 49");
  kb::detail::store_be<int32_t>(u8(batch) + kb::kLengthPos, -1);
  EXPECT_EQ(kb::validate(u8(batch), batch.size()), "batch length -1 below minimum 49");
  kb::detail::store_be<int32_t>(u8(batch) + kb::kLengthPos, std::numeric_limits<int32_t>::max());
  EXPECT_EQ(kb::validate(u8(batch), batch.size()).rfind("truncated", 0), 0u);
}

TEST(RecordBatchValidate, NegativeCountsBehindAValidCrc) {
  std::string batch = kb::Builder().add("k", "v", 1).build();
  std::string neg_delta = batch;
  kb::detail::store_be<int32_t>(u8(neg_delta) + kb::kLastOffsetDeltaPos, -1);
  reseal(neg_delta);
  EXPECT_EQ(kb::validate(u8(neg_delta), neg_delta.size()), "last offset delta -1 is negative");
  std::string neg_count = batch;
  kb::detail::store_be<int32_t>(u8(neg_count) + kb::kRecordsCountPos, -3);
  reseal(neg_count);
  EXPECT_EQ(kb::validate(u8(neg_count), neg_count.size()), "records count -3 is negative");
}

TEST(RecordBatchValidate, EmptyBatchHeaderIsStructurallyValid) {
  std::string batch = kb::Builder().add("k", "v", 1).build().substr(0, kb::kHeaderSize);
  kb::detail::store_be<int32_t>(u8(batch) + kb::kRecordsCountPos, 0);
  kb::detail::store_be<int32_t>(u8(batch) + kb::kLastOffsetDeltaPos, 0);
  reseal(batch);
  EXPECT_EQ(kb::validate(u8(batch), batch.size()), "");
  EXPECT_TRUE(kb::decode(u8(batch), batch.size()).empty());
}

// ---------------------------------------------------------------- decoding

TEST(RecordBatchDecode, EveryTruncatedRecordsSectionIsCorrupt) {
  const std::string batch = build_varied(0);
  const auto h = *kb::parse_header(u8(batch), batch.size());
  const std::string records = records_section(batch);
  for (size_t len = 0; len < records.size(); ++len) {
    // A copy of exactly len bytes, so a read past it would be a heap overrun
    // that sanitizers and the allocator can see.
    const std::string cut = records.substr(0, len);
    std::string message;
    ASSERT_EQ(decode_records_status(h, cut, &message), KEEL_ERR_CORRUPT) << "length " << len;
    EXPECT_NE(message.find(", at record "), std::string::npos) << message;
  }
}

TEST(RecordBatchDecode, TruncatedRecordsBehindAValidCrcAreCorrupt) {
  const std::string batch = build_varied(0);
  for (size_t cut = 1; cut < batch.size() - kb::kHeaderSize; cut += 13) {
    std::string shorter = batch.substr(0, batch.size() - cut);
    reseal(shorter);
    ASSERT_EQ(kb::validate(u8(shorter), shorter.size()), "");
    std::string message;
    ASSERT_EQ(decode_status(shorter, &message), KEEL_ERR_CORRUPT) << "cut " << cut;
    EXPECT_NE(message.find(", at record "), std::string::npos) << message;
  }
}

TEST(RecordBatchDecode, OverrunningKeyLengthIsCorrupt) {
  std::string batch = kb::Builder().add("k1", "v", 1).build();
  // The key length byte (04) sits after length, attributes, ts and offset.
  ASSERT_EQ(static_cast<uint8_t>(batch[kb::kHeaderSize + 4]), 0x04);
  batch[kb::kHeaderSize + 4] = static_cast<char>(0x7e);  // 63 bytes
  reseal(batch);
  std::string message;
  EXPECT_EQ(decode_status(batch, &message), KEEL_ERR_CORRUPT);
  EXPECT_NE(message.find("key length 63 overruns"), std::string::npos) << message;
  EXPECT_NE(message.find("at record 0"), std::string::npos) << message;
}

TEST(RecordBatchDecode, UnterminatedVarintIsCorrupt) {
  std::string batch = kb::Builder().add("k1", "value", 1).build();
  // Every byte from the timestamp delta on has its continuation bit set.
  for (size_t i = kb::kHeaderSize + 2; i < batch.size(); ++i) batch[i] = static_cast<char>(0xff);
  reseal(batch);
  std::string message;
  EXPECT_EQ(decode_status(batch, &message), KEEL_ERR_CORRUPT);
  EXPECT_NE(message.find("varint"), std::string::npos) << message;
}

TEST(RecordBatchDecode, RecordLengthOverrunningTheBatchIsCorrupt) {
  std::string batch = kb::Builder().add("k1", "v", 1).add("k2", "v", 1).build();
  batch[kb::kHeaderSize] = static_cast<char>(0x7e);  // first record claims 63 bytes
  reseal(batch);
  std::string message;
  EXPECT_EQ(decode_status(batch, &message), KEEL_ERR_CORRUPT);
  EXPECT_NE(message.find("at record 0"), std::string::npos) << message;
}

TEST(RecordBatchDecode, NegativeLengthsOtherThanMinusOneAreCorrupt) {
  // key length -2 (03)
  const auto h = *kb::parse_header(u8(kb::Builder().add("k", "v", 1).build()), kb::kHeaderSize);
  std::string message;
  EXPECT_EQ(decode_records_status(h, byte_string({0x0c, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00}), &message),
            KEEL_ERR_CORRUPT);
  EXPECT_NE(message.find("key length -2"), std::string::npos) << message;
  // value length -3 (05)
  EXPECT_EQ(decode_records_status(h, byte_string({0x0c, 0x00, 0x00, 0x00, 0x01, 0x05, 0x00}), &message),
            KEEL_ERR_CORRUPT);
  EXPECT_NE(message.find("value length -3"), std::string::npos) << message;
  // negative header count (-1)
  EXPECT_EQ(decode_records_status(h, byte_string({0x0c, 0x00, 0x00, 0x00, 0x01, 0x01, 0x01}), &message),
            KEEL_ERR_CORRUPT);
  EXPECT_NE(message.find("header count -1"), std::string::npos) << message;
  // null header key
  EXPECT_EQ(
      decode_records_status(h, byte_string({0x10, 0x00, 0x00, 0x00, 0x01, 0x01, 0x02, 0x01, 0x01}), &message),
      KEEL_ERR_CORRUPT);
  EXPECT_NE(message.find("header key 0 is null"), std::string::npos) << message;
  // Well-formed equivalent decodes: header "" with null value.
  EXPECT_EQ(decode_records_status(h, byte_string({0x10, 0x00, 0x00, 0x00, 0x01, 0x01, 0x02, 0x00, 0x01})),
            KEEL_OK);
}

TEST(RecordBatchDecode, RecordLengthMustMatchItsFields) {
  const auto h = *kb::parse_header(u8(kb::Builder().add("k", "v", 1).build()), kb::kHeaderSize);
  std::string message;
  // Claims 7 body bytes but the fields take 6: one byte of slack.
  EXPECT_EQ(decode_records_status(h, byte_string({0x0e, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00, 0x00}), &message),
            KEEL_ERR_CORRUPT);
  EXPECT_NE(message.find("record length says 7"), std::string::npos) << message;
}

TEST(RecordBatchDecode, RecordCountMustMatchTheBytes) {
  const std::string two = kb::Builder().add("a", "1", 1).add("b", "2", 2).build();
  std::string says_three = two;
  kb::detail::store_be<int32_t>(u8(says_three) + kb::kRecordsCountPos, 3);
  reseal(says_three);
  std::string message;
  EXPECT_EQ(decode_status(says_three, &message), KEEL_ERR_CORRUPT);
  EXPECT_NE(message.find("at record 2"), std::string::npos) << message;

  std::string says_one = two;
  kb::detail::store_be<int32_t>(u8(says_one) + kb::kRecordsCountPos, 1);
  reseal(says_one);
  EXPECT_EQ(decode_status(says_one, &message), KEEL_ERR_CORRUPT);
  EXPECT_NE(message.find("left over"), std::string::npos) << message;

  // A huge count must fail on the bytes, not by reserving memory for it.
  std::string says_many = two;
  kb::detail::store_be<int32_t>(u8(says_many) + kb::kRecordsCountPos, std::numeric_limits<int32_t>::max());
  reseal(says_many);
  EXPECT_EQ(decode_status(says_many), KEEL_ERR_CORRUPT);
}

TEST(RecordBatchDecode, UnknownCodecIsCorrupt) {
  std::string batch = kb::Builder().add("a", "1", 1).build();
  kb::detail::store_be<int16_t>(u8(batch) + kb::kAttributesPos, 6);
  reseal(batch);
  EXPECT_EQ(decode_status(batch), KEEL_ERR_CORRUPT);
  kb::detail::store_be<int16_t>(u8(batch) + kb::kAttributesPos, static_cast<int16_t>(kb::Compression::Zstd));
  reseal(batch);
  std::string message;
  EXPECT_EQ(decode_status(batch, &message), KEEL_ERR_UNSUPPORTED);
  EXPECT_NE(message.find("zstd"), std::string::npos) << message;
}

// Random corruption behind a recomputed CRC: decode must either succeed or
// throw KEEL_ERR_CORRUPT, never crash or read out of bounds.
TEST(RecordBatchDecode, RandomCorruptionNeverEscapesAsAnythingButCorrupt) {
  const std::string batch = build_varied(0);
  std::mt19937 rng(1234);
  for (int round = 0; round < 3000; ++round) {
    std::string bad = batch;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      const size_t pos = kb::kHeaderSize + rng() % (bad.size() - kb::kHeaderSize);
      bad[pos] = static_cast<char>(rng());
    }
    if (rng() % 4 == 0) bad.resize(kb::kHeaderSize + rng() % (bad.size() - kb::kHeaderSize));
    reseal(bad);
    std::string copy(bad);  // exact-size heap buffer
    const keel_status s = decode_status(copy);
    ASSERT_TRUE(s == KEEL_OK || s == KEEL_ERR_CORRUPT) << "round " << round << " status " << s;
  }
}

// ------------------------------------------------- rebuilding (log cleaner)

std::vector<kb::Record> sparse_records() {
  return {kb::Record{100, 5000, "a", "1", {}}, kb::Record{103, 4000, "b", std::nullopt, {{"h", "x"}}},
          kb::Record{110, 6000, "c", "3", {}}};
}

TEST(RecordBatchAddAt, KeepsOffsetGaps) {
  kb::Builder b(100);
  for (const auto& r : sparse_records()) b.add_at(r);
  const std::string batch = b.build();
  const auto h = *kb::parse_header(u8(batch), batch.size());
  EXPECT_EQ(h.base_offset, 100);
  EXPECT_EQ(h.records_count, 3);
  EXPECT_EQ(h.last_offset_delta, 10);
  EXPECT_EQ(h.last_offset(), 110);
  EXPECT_EQ(h.base_timestamp, 5000);
  EXPECT_EQ(h.max_timestamp, 6000);
  EXPECT_EQ(kb::decode(u8(batch), batch.size()), sparse_records());
}

TEST(RecordBatchAddAt, TheFirstRecordMayBeAboveTheBase) {
  const std::string batch = kb::Builder(10).add_at(kb::Record{12, 1, "k", "v", {}}).build();
  const auto h = *kb::parse_header(u8(batch), batch.size());
  EXPECT_EQ(h.last_offset_delta, 2);
  EXPECT_EQ(kb::decode(u8(batch), batch.size()).at(0).offset, 12);
}

TEST(RecordBatchAddAt, AddContinuesAfterTheLastOffset) {
  kb::Builder b(0);
  b.add_at(kb::Record{3, 1, "a", "1", {}}).add("b", "2", 2);
  const std::string batch = b.build();
  const auto out = kb::decode(u8(batch), batch.size());
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].offset, 3);
  EXPECT_EQ(out[1].offset, 4);
  EXPECT_EQ(kb::parse_header(u8(batch), batch.size())->last_offset_delta, 4);
}

TEST(RecordBatchAddAt, RefusesOffsetsThatDoNotAscendOrLeaveTheBatch) {
  const auto status = [](const std::vector<int64_t>& offsets) {
    kb::Builder b(100);
    try {
      for (int64_t o : offsets) b.add_at(kb::Record{o, 1, "k", "v", {}});
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("offsets must ascend"), std::string::npos) << e.what();
      return e.code();
    }
    return KEEL_OK;
  };
  EXPECT_EQ(status({100, 101}), KEEL_OK);
  EXPECT_EQ(status({99}), KEEL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(status({103, 103}), KEEL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(status({103, 101}), KEEL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(status({100 + int64_t{std::numeric_limits<int32_t>::max()}}), KEEL_OK);
  EXPECT_EQ(status({100 + int64_t{std::numeric_limits<int32_t>::max()} + 1}), KEEL_ERR_INVALID_ARGUMENT);
}

TEST(RecordBatchAddAt, ARefusedRecordLeavesTheBuilderAsItWas) {
  kb::Builder b(0);
  b.add_at(kb::Record{5, 1, "a", "1", {}});
  EXPECT_THROW(b.add_at(kb::Record{4, 1, "b", "2", {}}), Error);
  EXPECT_EQ(b.record_count(), 1u);
  const std::string batch = b.build();
  EXPECT_EQ(kb::parse_header(u8(batch), batch.size())->last_offset_delta, 5);
}

TEST(RecordBatchLastOffsetDelta, KeepsTheDeltaOfRemovedTrailingRecords) {
  // Records 0..4 were written; 3 and 4 were removed, the batch still ends at 4.
  kb::Builder b(1000);
  b.producer(42, 1, 70).last_offset_delta(4);
  b.add_at(kb::Record{1000, 1, "a", "1", {}}).add_at(kb::Record{1002, 2, "c", "3", {}});
  const std::string batch = b.build();
  EXPECT_EQ(kb::validate(u8(batch), batch.size()), "");
  const auto h = *kb::parse_header(u8(batch), batch.size());
  EXPECT_EQ(h.last_offset_delta, 4);
  EXPECT_EQ(h.last_offset(), 1004);
  EXPECT_EQ(h.records_count, 2);
  EXPECT_EQ(h.base_sequence, 70);
  const auto out = kb::decode(u8(batch), batch.size());
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].offset, 1002);
}

TEST(RecordBatchLastOffsetDelta, MayNotBeBelowTheLastRecord) {
  kb::Builder b(0);
  b.add("a", "1", 1).add("b", "2", 1).add("c", "3", 1).last_offset_delta(1);
  try {
    b.build();
    ADD_FAILURE() << "a last offset delta below the last record was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), KEEL_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(e.what()).find("last offset delta 1 is below the delta of the last record, 2"),
              std::string::npos)
        << e.what();
  }
  // Equal to the last record's delta is the default, and fine.
  EXPECT_EQ(kb::parse_header(u8(b.last_offset_delta(2).build()), kb::kHeaderSize)->last_offset_delta, 2);
}

TEST(RecordBatchLeaderEpoch, BuilderWritesTheGivenEpoch) {
  const std::string batch = kb::Builder(0).partition_leader_epoch(17).add("k", "v", 1).build();
  EXPECT_EQ(kb::parse_header(u8(batch), batch.size())->partition_leader_epoch, 17);
  EXPECT_EQ(kb::validate(u8(batch), batch.size()), "");
  const std::string plain = kb::Builder(0).add("k", "v", 1).build();
  EXPECT_EQ(kb::parse_header(u8(plain), plain.size())->partition_leader_epoch, -1);
}

}  // namespace
