// Produce-time validation of batch contents (kernel/storage/batch_validator): every
// check, on batches whose CRC is valid, uncompressed and with each codec;
// and through PartitionLog::append, that a refused request stores nothing
// and its message names the topic, partition, batch and record.
#include "storage/batch_validator.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <keel/codec.hpp>
#include <keel/record_batch.hpp>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "storage/partition_log.hpp"
#include "support/batch_bytes.hpp"
#include "support/temp_dir.hpp"

namespace {

namespace kb = keel::batch;
using keel::BatchProblem;
using keel::BatchRules;
using ::testing::HasSubstr;

using keel::test::bytes;

std::string varint(int64_t v) {
  std::string out;
  kb::put_varint(out, v);
  return out;
}

// A length-prefixed byte string as a record writes it; nullopt is null (-1).
std::string field(const std::optional<std::string>& s) {
  return s ? varint(static_cast<int64_t>(s->size())) + *s : varint(-1);
}

// The fields of one record after its length, each of which a test may spoil.
struct Fields {
  int64_t timestamp_delta = 7;
  int64_t offset_delta = 0;
  std::optional<std::string> key = "key";
  std::optional<std::string> value = "value";
  std::vector<std::pair<std::optional<std::string>, std::optional<std::string>>> headers;

  std::string encode() const {
    std::string out(1, '\0');  // attributes
    out += varint(timestamp_delta);
    out += varint(offset_delta);
    out += field(key) + field(value);
    out += varint(static_cast<int64_t>(headers.size()));
    for (const auto& [k, v] : headers) out += field(k) + field(v);
    return out;
  }
};

// A whole record: its length (true length unless given), then the body.
std::string record(const std::string& body, std::optional<int64_t> length = std::nullopt) {
  return varint(length.value_or(static_cast<int64_t>(body.size()))) + body;
}

// n well-formed records with deltas 0..n-1.
std::string good_records(int n) {
  std::string out;
  for (int i = 0; i < n; ++i) {
    Fields f;
    f.offset_delta = i;
    f.value = "value-" + std::to_string(i);
    out += record(f.encode());
  }
  return out;
}

// A batch around a hand-made records section: the header of a real batch
// with count, lastOffsetDelta and attributes set as given, the section
// compressed with `codec`, then length and CRC computed, so only the
// contents can be wrong.
struct Frame {
  int32_t count = 1;
  std::optional<int32_t> last_offset_delta;  // default count - 1
  int16_t extra_attributes = 0;
  int codec = 0;  // raw codec bits, may be an unknown id
  int64_t producer_id = -1;
  int32_t base_sequence = -1;
};

std::string frame(const std::string& plain_records, const Frame& f) {
  kb::Builder b(0);
  b.add("k", "v", 1'700'000'000'000).producer(f.producer_id, 0, f.base_sequence);
  std::string out = b.build().substr(0, kb::kHeaderSize);
  const auto c = static_cast<kb::Compression>(f.codec);
  const bool known = f.codec <= static_cast<int>(kb::Compression::Zstd);
  out += known ? keel::codec::compress(c, bytes(plain_records), plain_records.size()) : plain_records;
  auto* h = reinterpret_cast<uint8_t*>(out.data());
  using kb::detail::store_be;
  store_be<int32_t>(h + kb::kLengthPos, static_cast<int32_t>(out.size() - kb::kLogOverhead));
  store_be<int16_t>(h + kb::kAttributesPos, static_cast<int16_t>(f.extra_attributes | f.codec));
  store_be<int32_t>(h + kb::kLastOffsetDeltaPos, f.last_offset_delta.value_or(f.count - 1));
  store_be<int32_t>(h + kb::kRecordsCountPos, f.count);
  store_be<uint32_t>(h + kb::kCrcPos, kb::compute_crc(h, out.size()));
  return out;
}

BatchProblem check(const std::string& batch, const BatchRules& rules = {}) {
  const std::string framing = kb::validate(bytes(batch), batch.size());
  EXPECT_EQ(framing, "") << "the test batch itself must pass the CRC and framing checks";
  return keel::check_produced_batch(*kb::parse_header(bytes(batch), batch.size()), bytes(batch), rules);
}

const char* codec_name(int codec) { return kb::compression_name(static_cast<kb::Compression>(codec)); }

// ------------------------------------------------ per codec: record checks

class RecordChecks : public ::testing::TestWithParam<int> {
 protected:
  // The batch of `records` (plain bytes) with `count` records, this codec.
  std::string batch(const std::string& records, int32_t count) {
    Frame f;
    f.count = count;
    f.codec = GetParam();
    return frame(records, f);
  }

  // Expects INVALID_ARGUMENT at `index` with `what` in the message.
  void expect_invalid(const std::string& records, int32_t count, int32_t index, const std::string& what,
                      const BatchRules& rules = {}) {
    const BatchProblem p = check(batch(records, count), rules);
    EXPECT_EQ(p.status, KEEL_ERR_INVALID_ARGUMENT) << p.what;
    EXPECT_EQ(p.record, index) << p.what;
    EXPECT_THAT(p.what, HasSubstr(what));
  }
};

TEST_P(RecordChecks, AcceptsWellFormedRecords) {
  Fields f;
  f.key = std::nullopt;
  f.value = std::nullopt;
  f.headers = {{"h", "v"}, {"", std::nullopt}};
  // Multi-byte varints everywhere: a long value and header, a timestamp
  // before the base, and a 300-byte record length.
  Fields big;
  big.offset_delta = 1;
  big.timestamp_delta = -3'600'000'000;
  big.value = std::string(300, 'v');
  big.headers = {{std::string(70, 'h'), std::string(200, 'x')}};
  const std::string records = record(f.encode()) + record(big.encode());
  EXPECT_TRUE(check(batch(records, 2)).ok()) << check(batch(records, 2)).what;
  const BatchProblem p = check(batch(good_records(50), 50));
  EXPECT_TRUE(p.ok()) << p.what;
}

TEST_P(RecordChecks, AcceptsBatchesMadeByTheCodecLibrary) {
  std::vector<kb::Record> rs;
  for (int i = 0; i < 20; ++i) rs.push_back({0, 1'700'000'000'000 + i, "k" + std::to_string(i), "v", {}});
  const std::string b = keel::codec::build_batch(rs, static_cast<kb::Compression>(GetParam()));
  EXPECT_TRUE(check(b).ok()) << check(b).what;
}

TEST_P(RecordChecks, CountAboveTheRecordsPresent) {
  expect_invalid(good_records(2), 3, 2, "holds 3 records but its bytes end after 2");
}

TEST_P(RecordChecks, CountBelowTheRecordsPresent) {
  expect_invalid(good_records(3), 2, -1, "left over after the last of its 2 records");
}

TEST_P(RecordChecks, TrailingBytesAfterTheLastRecord) {
  expect_invalid(good_records(2) + std::string(3, '\0'), 2, -1, "3 bytes left over");
}

TEST_P(RecordChecks, OffsetDeltasGoingBackwards) {
  Fields a, b;
  b.offset_delta = 0;  // the second record repeats delta 0
  expect_invalid(record(a.encode()) + record(b.encode()), 2, 1, "offset delta 0 where 1 is expected");
}

TEST_P(RecordChecks, OffsetDeltasWithAGap) {
  Fields a, b;
  b.offset_delta = 2;
  expect_invalid(record(a.encode()) + record(b.encode()), 2, 1, "offset delta 2 where 1 is expected");
}

TEST_P(RecordChecks, FirstOffsetDeltaNotZero) {
  Fields a;
  a.offset_delta = 5;
  expect_invalid(record(a.encode()), 1, 0, "offset delta 5 where 0 is expected");
}

TEST_P(RecordChecks, MalformedRecordLengthVarint) {
  // Eleven continuation bytes: longer than any varint.
  expect_invalid(good_records(1) + std::string(11, '\xff'), 2, 1, "record length varint is malformed");
}

TEST_P(RecordChecks, RecordLengthAbove32Bits) {
  expect_invalid(varint(int64_t{1} << 33) + Fields{}.encode(), 1, 0, "record length varint is malformed");
}

TEST_P(RecordChecks, NegativeRecordLength) {
  expect_invalid(record(Fields{}.encode(), -4), 1, 0, "record length -4 is negative");
}

TEST_P(RecordChecks, RecordLengthPastTheEnd) {
  const std::string body = Fields{}.encode();
  expect_invalid(record(body, static_cast<int64_t>(body.size()) + 10), 1, 0, "runs 10 bytes past the end");
}

TEST_P(RecordChecks, RecordLengthLongerThanItsFields) {
  // Two records, the first claiming one byte of the second.
  Fields b;
  b.offset_delta = 1;
  const std::string first = Fields{}.encode() + '\0';
  expect_invalid(record(first) + record(b.encode()), 2, 0, "but its fields take");
}

TEST_P(RecordChecks, RecordLengthShorterThanItsFields) {
  const std::string body = Fields{}.encode();
  // The length leaves out the header count and the value's last byte.
  expect_invalid(record(body, static_cast<int64_t>(body.size()) - 2), 1, 0,
                 "value of 5 bytes runs 1 bytes past the end of the record");
}

TEST_P(RecordChecks, EmptyRecord) { expect_invalid(record(""), 1, 0, "record length is 0"); }

TEST_P(RecordChecks, MalformedTimestampDelta) {
  const std::string body = std::string(1, '\0') + std::string(10, '\xff') + '\x01';
  expect_invalid(record(body), 1, 0, "timestamp delta varlong is malformed");
}

TEST_P(RecordChecks, OffsetDeltaAbove32Bits) {
  const std::string body =
      std::string(1, '\0') + varint(0) + varint(int64_t{1} << 40) + field("k") + field("v") + varint(0);
  expect_invalid(record(body), 1, 0, "offset delta varint is malformed, above 32 bits");
}

TEST_P(RecordChecks, KeyLengthBelowMinusOne) {
  const std::string body = std::string(1, '\0') + varint(0) + varint(0) + varint(-2) + field("v") + varint(0);
  expect_invalid(record(body), 1, 0, "key length -2 is invalid");
}

TEST_P(RecordChecks, KeyPastTheEndOfTheRecord) {
  const std::string body = std::string(1, '\0') + varint(0) + varint(0) + varint(50) + "abc";
  expect_invalid(record(body), 1, 0, "key of 50 bytes runs 47 bytes past the end of the record");
}

TEST_P(RecordChecks, ValuePastTheEndOfTheRecord) {
  const std::string body = std::string(1, '\0') + varint(0) + varint(0) + field("k") + varint(9) + "v";
  expect_invalid(record(body), 1, 0, "value of 9 bytes runs 8 bytes past");
}

TEST_P(RecordChecks, NegativeHeaderCount) {
  const std::string body =
      std::string(1, '\0') + varint(0) + varint(0) + field("k") + field("v") + varint(-1);
  expect_invalid(record(body), 1, 0, "header count -1 is negative");
}

TEST_P(RecordChecks, HeaderCountAboveTheHeadersPresent) {
  const std::string body = std::string(1, '\0') + varint(0) + varint(0) + field("k") + field("v") +
                           varint(3) + field("h") + field("v");
  expect_invalid(record(body), 1, 0, "(header 1 of 3)");
}

TEST_P(RecordChecks, NullHeaderKey) {
  Fields f;
  f.headers = {{std::nullopt, "v"}};
  expect_invalid(record(f.encode()), 1, 0, "header key length -1 is invalid (it cannot be null)");
}

TEST_P(RecordChecks, HeaderValueLengthBelowMinusOne) {
  const std::string body = std::string(1, '\0') + varint(0) + varint(0) + field("k") + field("v") +
                           varint(1) + field("h") + varint(-3);
  expect_invalid(record(body), 1, 0, "header value length -3 is invalid");
}

TEST_P(RecordChecks, NullKeyOnACompactedTopic) {
  Fields a, b;
  b.offset_delta = 1;
  b.key = std::nullopt;
  const std::string records = record(a.encode()) + record(b.encode());
  EXPECT_TRUE(check(batch(records, 2)).ok());
  BatchRules compacted;
  compacted.requires_keys = true;
  expect_invalid(records, 2, 1, "null key and the topic is compacted", compacted);
}

INSTANTIATE_TEST_SUITE_P(Codecs, RecordChecks, ::testing::Values(0, 1, 2, 3, 4),
                         [](const auto& info) { return std::string(codec_name(info.param)); });

// ------------------------------------------------------ batch-level checks

BatchProblem check_frame(const Frame& f, const std::string& records = good_records(1)) {
  return check(frame(records, f));
}

TEST(BatchChecks, EmptyBatch) {
  Frame f;
  f.count = 0;
  f.last_offset_delta = 0;
  const BatchProblem p = check_frame(f, "");
  EXPECT_EQ(p.status, KEEL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(p.record, -1);
  EXPECT_THAT(p.what, HasSubstr("records count 0: a batch needs at least one record"));
}

TEST(BatchChecks, LastOffsetDeltaFarBeyondItsRecords) {
  // One record moving the log end by 2^31: the case that shifted the high
  // watermark.
  Frame f;
  f.last_offset_delta = std::numeric_limits<int32_t>::max();
  const BatchProblem p = check_frame(f);
  EXPECT_EQ(p.status, KEEL_ERR_INVALID_ARGUMENT);
  EXPECT_THAT(p.what,
              HasSubstr("last offset delta 2147483647 does not match its 1 record(s) (it must be 0)"));
}

TEST(BatchChecks, LastOffsetDeltaBelowItsRecords) {
  Frame f;
  f.count = 3;
  f.last_offset_delta = 1;
  EXPECT_THAT(check_frame(f, good_records(3)).what, HasSubstr("last offset delta 1 does not match its 3"));
}

TEST(BatchChecks, ControlBitFromAClient) {
  Frame f;
  f.extra_attributes = kb::kControlFlag;
  const BatchProblem p = check_frame(f);
  EXPECT_EQ(p.status, KEEL_ERR_INVALID_ARGUMENT);
  EXPECT_THAT(p.what, HasSubstr("clients cannot write control batches"));
}

TEST(BatchChecks, TransactionalBitIsAcceptedAsKafkaDoes) {
  Frame f;
  f.extra_attributes = kb::kTransactionalFlag;
  f.producer_id = 5;
  f.base_sequence = 0;
  EXPECT_TRUE(check_frame(f).ok()) << check_frame(f).what;
}

TEST(BatchChecks, ProducerIdWithoutASequence) {
  Frame f;
  f.producer_id = 5;
  f.base_sequence = -1;
  EXPECT_THAT(check_frame(f).what, HasSubstr("base sequence -1 is invalid for producer id 5"));
}

TEST(BatchChecks, UnknownCodecs) {
  for (int codec : {5, 6, 7}) {
    Frame f;
    f.codec = codec;
    const BatchProblem p = check_frame(f);
    EXPECT_EQ(p.status, KEEL_ERR_INVALID_ARGUMENT) << codec;
    EXPECT_THAT(p.what, HasSubstr("compression codec " + std::to_string(codec) + " is unknown"));
  }
}

TEST(BatchChecks, UndecodableCompressedRecordsAreCorrupt) {
  for (int codec : {1, 2, 3, 4}) {
    // A valid stream of the codec cut short, then garbage.
    const std::string records = good_records(20);
    const std::string packed =
        keel::codec::compress(static_cast<kb::Compression>(codec), bytes(records), records.size());
    for (const std::string& bad : {packed.substr(0, packed.size() / 2), std::string(40, '\x5a')}) {
      std::string batch = frame("", Frame{});
      batch.resize(kb::kHeaderSize);
      batch += bad;
      auto* h = reinterpret_cast<uint8_t*>(batch.data());
      kb::detail::store_be<int32_t>(h + kb::kLengthPos,
                                    static_cast<int32_t>(batch.size() - kb::kLogOverhead));
      kb::detail::store_be<int16_t>(h + kb::kAttributesPos, static_cast<int16_t>(codec));
      kb::detail::store_be<int32_t>(h + kb::kRecordsCountPos, 20);
      kb::detail::store_be<int32_t>(h + kb::kLastOffsetDeltaPos, 19);
      kb::detail::store_be<uint32_t>(h + kb::kCrcPos, kb::compute_crc(h, batch.size()));
      const BatchProblem p = check(batch);
      EXPECT_EQ(p.status, KEEL_ERR_CORRUPT) << codec_name(codec) << ": " << p.what;
      EXPECT_THAT(p.what, HasSubstr(codec_name(codec))) << p.what;
    }
  }
}

TEST(BatchChecks, DecompressionPastTheCapIsCorrupt) {
  Frame f;
  f.count = 200;
  f.codec = static_cast<int>(kb::Compression::Zstd);
  BatchRules small;
  small.max_decompressed = 1000;
  const BatchProblem p = check(frame(good_records(200), f), small);
  EXPECT_EQ(p.status, KEEL_ERR_CORRUPT);
  EXPECT_THAT(p.what, HasSubstr("decompresses to more than 1000 bytes"));
}

TEST(BatchChecks, ReusedBufferAfterALargerBatch) {
  // The per-thread buffer keeps the first batch's size; the second, smaller
  // batch must see exactly its own bytes, and the cap must still hold.
  for (int codec : {1, 2, 3, 4}) {
    Frame big;
    big.count = 2000;
    big.codec = codec;
    EXPECT_TRUE(check(frame(good_records(2000), big)).ok());
    Frame small;
    small.count = 2;
    small.codec = codec;
    EXPECT_TRUE(check(frame(good_records(2), small)).ok()) << codec_name(codec);
    EXPECT_EQ(check(frame(good_records(3), small)).record, -1) << "a left-over record must be seen";
    BatchRules capped;
    capped.max_decompressed = 100;
    EXPECT_EQ(check(frame(good_records(2000), big), capped).status, KEEL_ERR_CORRUPT) << codec_name(codec);
  }
}

// ------------------------------------------------- through the append path

class AppendRefusals : public ::testing::Test {
 protected:
  std::unique_ptr<keel::PartitionLog> open_log(bool requires_keys = false) {
    keel::LogOptions options;
    options.requires_keys = requires_keys;
    auto log = std::make_unique<keel::PartitionLog>("orders", 3, dir_.sub("orders-3"), options, &clock_);
    log->open(true, 0);
    return log;
  }

  keel::Error refusal(keel::PartitionLog& log, const std::string& request) {
    try {
      log.append(bytes(request), request.size());
    } catch (const keel::Error& e) {
      return e;
    }
    ADD_FAILURE() << "the request was accepted";
    return keel::Error(KEEL_OK, "");
  }

  keel::SystemClock clock_;
  keel::test::TempDir dir_;
};

TEST_F(AppendRefusals, NothingOfARequestWithOneBadBatchIsStored) {
  auto log = open_log();
  Fields a, b;
  b.offset_delta = 3;
  Frame two;
  two.count = 2;
  const std::string request =
      frame(good_records(2), two) + frame(record(a.encode()) + record(b.encode()), two);
  const keel::Error e = refusal(*log, request);
  EXPECT_EQ(e.code(), KEEL_ERR_INVALID_ARGUMENT);
  EXPECT_THAT(e.what(), HasSubstr("rejected batch #1, record #1 for orders-3 at byte"));
  EXPECT_THAT(e.what(), HasSubstr("offset delta 3 where 1 is expected"));
  EXPECT_THAT(e.what(), HasSubstr("nothing of this request was written"));
  EXPECT_EQ(log->log_end_offset(), 0);
  EXPECT_EQ(log->read(0, 1 << 20).length, 0);

  // The partition goes on from offset 0 with the next good request.
  const std::string good = frame(good_records(2), two);
  EXPECT_EQ(log->append(bytes(good), good.size()).base_offset, 0);
  EXPECT_EQ(log->log_end_offset(), 2);
  log->close();
}

TEST_F(AppendRefusals, UndecodableGzipIsCorrupt) {
  auto log = open_log();
  std::string batch = frame(good_records(1), Frame{});
  batch.resize(kb::kHeaderSize);
  batch += std::string(30, '\x1f');
  auto* h = reinterpret_cast<uint8_t*>(batch.data());
  kb::detail::store_be<int32_t>(h + kb::kLengthPos, static_cast<int32_t>(batch.size() - kb::kLogOverhead));
  kb::detail::store_be<int16_t>(h + kb::kAttributesPos, static_cast<int16_t>(kb::Compression::Gzip));
  kb::detail::store_be<uint32_t>(h + kb::kCrcPos, kb::compute_crc(h, batch.size()));
  const keel::Error e = refusal(*log, batch);
  EXPECT_EQ(e.code(), KEEL_ERR_CORRUPT);
  EXPECT_THAT(e.what(), HasSubstr("rejected batch #0 for orders-3 at byte 0 of the request: gzip"));
  EXPECT_EQ(log->log_end_offset(), 0);
  log->close();
}

TEST_F(AppendRefusals, NullKeyOnACompactedTopicNamesTheRecord) {
  auto log = open_log(true);
  Fields a, b;
  b.offset_delta = 1;
  b.key = std::nullopt;
  Frame two;
  two.count = 2;
  two.codec = static_cast<int>(kb::Compression::Lz4);
  const keel::Error e = refusal(*log, frame(record(a.encode()) + record(b.encode()), two));
  EXPECT_EQ(e.code(), KEEL_ERR_INVALID_ARGUMENT);
  EXPECT_THAT(e.what(), HasSubstr("rejected batch #0, record #1 for orders-3"));
  EXPECT_THAT(e.what(), HasSubstr("null key and the topic is compacted"));
  EXPECT_EQ(log->log_end_offset(), 0);
  log->close();
}

}  // namespace
