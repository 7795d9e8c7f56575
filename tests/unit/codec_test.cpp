// Record-batch codecs: round trips, batches written by real clients
// (fixtures under data/codec/, see generate_fixtures.py there), corrupt and
// truncated input, the decompression cap, and timestamp look-ups inside
// compressed batches.
#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <keel/codec.hpp>
#include <keel/record_batch.hpp>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "storage/partition_log.hpp"
#include "support/batch_bytes.hpp"
#include "support/temp_dir.hpp"

namespace keel {
namespace {

namespace kb = keel::batch;
using kb::Compression;

using keel::test::bytes;

// The records the fixtures hold; generate_fixtures.py writes the same.
std::vector<kb::Record> expected_records() {
  std::string filler;
  for (int i = 0; i < 3; ++i) filler += " the quick brown fox jumps over the lazy dog;";
  std::vector<kb::Record> out;
  for (int i = 0; i < 20; ++i) {
    kb::Record r;
    r.offset = i;
    r.timestamp = 1'700'000'000'000 + 10 * i;
    if (i != 3) r.key = "key-" + std::to_string(i);
    if (i != 5) r.value = "value-" + std::to_string(i) + ":" + filler;
    r.headers.push_back(
        {"trace", i % 2 == 0 ? std::optional<std::string>("h-" + std::to_string(i)) : std::nullopt});
    out.push_back(r);
  }
  return out;
}

std::string load_fixture(const std::string& name) {
  const std::string path = std::string(KEEL_TEST_SOURCE_DIR) + "/tests/unit/data/codec/" + name;
  std::ifstream in(path);
  std::string hex;
  if (!(in >> hex) || hex.size() % 2 != 0) throw std::runtime_error("cannot read hex fixture " + path);
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2)
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

// The records section of a batch of log-like JSON values, cut to `bytes`:
// compressible, but not trivially so.
std::string realistic_records(size_t bytes) {
  std::mt19937 rng(42);
  kb::Builder b;
  const char* levels[] = {"INFO", "WARN", "DEBUG", "ERROR"};
  std::string section;
  for (int i = 0; section.size() < bytes || b.record_count() == 0; ++i) {
    b.add("user-" + std::to_string(rng() % 1000),
          std::string("{\"level\":\"") + levels[rng() % 4] + "\",\"request\":" + std::to_string(rng()) +
              ",\"path\":\"/api/v1/items/" + std::to_string(rng() % 5000) +
              "\",\"ms\":" + std::to_string(rng() % 900) + "}",
          1'700'000'000'000 + i);
    if (b.record_count() % 1000 == 1) section = b.build().substr(kb::kHeaderSize);
  }
  return section.substr(0, bytes);
}

keel_status code_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const sdk::Error& e) {
    return e.code();
  }
  return KEEL_OK;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const sdk::Error& e) {
    return e.what();
  }
  return "";
}

// Rewrites the codec bits and the CRC of a batch.
void set_codec_bits(std::string& batch, int codec) {
  auto* h = reinterpret_cast<uint8_t*>(batch.data());
  const auto attrs = kb::detail::load_be<int16_t>(h + kb::kAttributesPos);
  kb::detail::store_be<int16_t>(h + kb::kAttributesPos,
                                static_cast<int16_t>((attrs & ~kb::kCompressionMask) | codec));
  kb::detail::store_be<uint32_t>(h + kb::kCrcPos, kb::compute_crc(h, batch.size()));
}

class CodecEach : public testing::TestWithParam<Compression> {};

INSTANTIATE_TEST_SUITE_P(Codecs, CodecEach,
                         testing::Values(Compression::Gzip, Compression::Snappy, Compression::Lz4,
                                         Compression::Zstd),
                         [](const auto& info) { return std::string(kb::compression_name(info.param)); });

TEST_P(CodecEach, RoundTripsRecordsOfEverySize) {
  for (size_t size : {size_t{0}, size_t{1}, size_t{100}, size_t{70'000}, size_t{1} << 20}) {
    const std::string plain = realistic_records(size);
    ASSERT_EQ(plain.size(), size);
    const std::string packed = codec::compress(GetParam(), bytes(plain), plain.size());
    if (size >= 70'000) {
      EXPECT_LT(packed.size(), plain.size()) << size;
    }
    EXPECT_EQ(codec::decompress(GetParam(), bytes(packed), packed.size()), plain) << size;
  }
}

TEST_P(CodecEach, WritesTheFormatKafkaClientsRead) {
  const std::string plain = realistic_records(100'000);
  const std::string packed = codec::compress(GetParam(), bytes(plain), plain.size());
  std::string magic;
  switch (GetParam()) {
    case Compression::Gzip:
      magic = "\x1f\x8b";
      break;
    case Compression::Snappy:  // xerial magic, version 1, compatible version 1
      magic = std::string("\x82SNAPPY\0\0\0\0\x01\0\0\0\x01", 16);
      break;
    case Compression::Lz4:
      magic = "\x04\x22\x4d\x18";
      break;
    default:
      magic = "\x28\xb5\x2f\xfd";
  }
  EXPECT_EQ(packed.substr(0, magic.size()), magic);
}

TEST_P(CodecEach, BuildsBatchesThatDecodeToTheSameRecords) {
  auto records = expected_records();
  const std::string batch = codec::build_batch(records, GetParam(), 500, 7, 2, 40);
  EXPECT_EQ(kb::validate(bytes(batch), batch.size()), "");
  const auto h = *kb::parse_header(bytes(batch), batch.size());
  EXPECT_EQ(h.compression(), GetParam());
  EXPECT_EQ(h.base_offset, 500);
  EXPECT_EQ(h.producer_id, 7);
  EXPECT_EQ(h.producer_epoch, 2);
  EXPECT_EQ(h.base_sequence, 40);
  EXPECT_EQ(h.records_count, 20);
  EXPECT_EQ(h.max_timestamp, records.back().timestamp);
  for (auto& r : records) r.offset += 500;
  EXPECT_EQ(codec::decode_batch(bytes(batch), batch.size()), records);
}

TEST_P(CodecEach, TruncatedInputIsCorruptNeverACrash) {
  const std::string plain = realistic_records(2000);
  const std::string packed = codec::compress(GetParam(), bytes(plain), plain.size());
  for (size_t n = 0; n < packed.size(); ++n) {
    std::string out;
    const keel_status code = code_of([&] { out = codec::decompress(GetParam(), bytes(packed), n); });
    if (GetParam() == Compression::Snappy && code == KEEL_OK) {
      // A cut between xerial chunks is a shorter valid stream; the batch's
      // records count catches it (see DecodeBatchRejectsCorruptRecords).
      EXPECT_NE(out, plain) << n;
      continue;
    }
    EXPECT_EQ(code, KEEL_ERR_CORRUPT) << "prefix of " << n << " bytes";
  }
}

TEST_P(CodecEach, DamagedOrRandomInputIsCorruptNeverACrash) {
  const std::string plain = realistic_records(5000);
  const std::string packed = codec::compress(GetParam(), bytes(plain), plain.size());
  std::mt19937 rng(7);
  for (int i = 0; i < 300; ++i) {
    std::string bad = packed;
    if (i % 2 == 0) {
      bad[rng() % bad.size()] ^= static_cast<char>(1 + rng() % 255);
    } else {
      for (auto& c : bad) c = static_cast<char>(rng());
    }
    // Snappy and lz4 (without content checksum) may decode a flipped
    // literal to other bytes; all that matters is a clean answer.
    const keel_status code = code_of([&] { codec::decompress(GetParam(), bytes(bad), bad.size(), 1 << 20); });
    EXPECT_TRUE(code == KEEL_OK || code == KEEL_ERR_CORRUPT) << i;
  }
  const std::string msg = error_of([&] { codec::decompress(GetParam(), bytes(plain), plain.size()); });
  EXPECT_NE(msg.find(kb::compression_name(GetParam())), std::string::npos) << msg;
}

TEST_P(CodecEach, DecompressionIsCappedAgainstBombs) {
  const std::string zeros(1 << 20, '\0');
  const std::string packed = codec::compress(GetParam(), bytes(zeros), zeros.size());
  EXPECT_LT(packed.size(), size_t{64} << 10);
  EXPECT_EQ(codec::decompress(GetParam(), bytes(packed), packed.size(), zeros.size()).size(), zeros.size());
  const std::string msg =
      error_of([&] { codec::decompress(GetParam(), bytes(packed), packed.size(), zeros.size() - 1); });
  EXPECT_NE(msg.find("per-batch cap"), std::string::npos) << msg;
  EXPECT_EQ(code_of([&] { codec::decompress(GetParam(), bytes(packed), packed.size(), 64 << 10); }),
            KEEL_ERR_CORRUPT);

  kb::Record big;
  big.value = zeros;
  const std::string batch = codec::build_batch({big}, GetParam());
  EXPECT_EQ(code_of([&] { codec::decode_batch(bytes(batch), batch.size(), 1000); }), KEEL_ERR_CORRUPT);
  EXPECT_EQ(codec::decode_batch(bytes(batch), batch.size()).at(0).value, zeros);
}

TEST_P(CodecEach, DecodeBatchRejectsCorruptRecords) {
  auto records = expected_records();
  std::string batch = codec::build_batch(records, GetParam(), 9);
  // Damage the compressed bytes, keep the CRC right: the codec must notice.
  batch.resize(batch.size() - 6);
  kb::detail::store_be<int32_t>(reinterpret_cast<uint8_t*>(batch.data()) + kb::kLengthPos,
                                static_cast<int32_t>(batch.size() - kb::kLogOverhead));
  set_codec_bits(batch, static_cast<int>(GetParam()));
  const std::string msg = error_of([&] { codec::decode_batch(bytes(batch), batch.size()); });
  EXPECT_NE(msg.find("offset 9"), std::string::npos) << msg;
  EXPECT_EQ(code_of([&] { codec::decode_batch(bytes(batch), batch.size()); }), KEEL_ERR_CORRUPT);
}

struct Fixture {
  const char* file;
  Compression codec;
};

class CodecRealClients : public testing::TestWithParam<Fixture> {};

INSTANTIATE_TEST_SUITE_P(CodecFixtures, CodecRealClients,
                         testing::Values(Fixture{"kafka_python_gzip.hex", Compression::Gzip},
                                         Fixture{"kafka_python_snappy.hex", Compression::Snappy},
                                         Fixture{"librdkafka_gzip.hex", Compression::Gzip},
                                         Fixture{"librdkafka_snappy.hex", Compression::Snappy},
                                         Fixture{"librdkafka_lz4.hex", Compression::Lz4},
                                         Fixture{"librdkafka_zstd.hex", Compression::Zstd}),
                         [](const auto& info) {
                           std::string name = info.param.file;
                           return name.substr(0, name.find('.'));
                         });

TEST_P(CodecRealClients, DecodesTheBatchAsTheClientWroteIt) {
  const std::string batch = load_fixture(GetParam().file);
  const auto h = *kb::parse_header(bytes(batch), batch.size());
  ASSERT_EQ(h.compression(), GetParam().codec);
  EXPECT_EQ(codec::decode_batch(bytes(batch), batch.size()), expected_records());
}

TEST_P(CodecRealClients, RecompressesWithTheSameCodec) {
  const std::string batch = load_fixture(GetParam().file);
  const auto records = codec::decode_batch(bytes(batch), batch.size());
  const std::string again = codec::build_batch(records, GetParam().codec);
  EXPECT_EQ(codec::decode_batch(bytes(again), again.size()), records);
}

TEST(CodecSnappy, ReadsRawBlocksAndXerialFraming) {
  // librdkafka writes one raw block, kafka-python and Java xerial chunks.
  const std::string raw = load_fixture("librdkafka_snappy.hex").substr(kb::kHeaderSize);
  const std::string xerial = load_fixture("kafka_python_snappy.hex").substr(kb::kHeaderSize);
  ASSERT_NE(raw.substr(0, 8), xerial.substr(0, 8));
  EXPECT_EQ(codec::decompress(Compression::Snappy, bytes(raw), raw.size()),
            codec::decompress(Compression::Snappy, bytes(xerial), xerial.size()));
  // More than one 32 KiB xerial chunk.
  const std::string plain = realistic_records(100'000);
  const std::string packed = codec::compress(Compression::Snappy, bytes(plain), plain.size());
  EXPECT_EQ(codec::decompress(Compression::Snappy, bytes(packed), packed.size()), plain);
  // A chunk length running past the end.
  std::string bad = packed.substr(0, 16) + std::string("\x7f\0\0\0abc", 7);
  EXPECT_EQ(code_of([&] { codec::decompress(Compression::Snappy, bytes(bad), bad.size()); }),
            KEEL_ERR_CORRUPT);
}

TEST(CodecUnknown, CodecIdsKafkaDoesNotDefineAreUnsupported) {
  const std::string data = "abc";
  for (int id : {5, 6, 7}) {
    const auto c = static_cast<Compression>(id);
    EXPECT_EQ(code_of([&] { codec::decompress(c, bytes(data), data.size()); }), KEEL_ERR_UNSUPPORTED);
    EXPECT_EQ(code_of([&] { codec::compress(c, bytes(data), data.size()); }), KEEL_ERR_UNSUPPORTED);
    std::string batch = codec::build_batch(expected_records(), Compression::None);
    set_codec_bits(batch, id);
    EXPECT_EQ(code_of([&] { codec::decode_batch(bytes(batch), batch.size()); }), KEEL_ERR_UNSUPPORTED);
  }
}

TEST(CodecUncompressed, PassesThrough) {
  const std::string batch = codec::build_batch(expected_records(), Compression::None);
  EXPECT_EQ(batch, [] {
    kb::Builder b;
    for (const auto& r : expected_records()) b.add(r);
    return b.build();
  }());
  EXPECT_EQ(codec::decode_batch(bytes(batch), batch.size()), expected_records());
  EXPECT_EQ(codec::decompress(Compression::None, bytes(batch), 10), batch.substr(0, 10));
}

// ListOffsets by timestamp answers the exact record inside a compressed batch.
TEST(CodecFindTime, FindsTheFirstRecordInsideCompressedBatches) {
  test::TempDir dir;
  ManualClock clock(1'700'000'000'000);
  PartitionLog log("codec", 0, dir.sub("codec-0"), LogOptions{}, &clock);
  log.open(true, 0);
  const Compression codecs[] = {Compression::None, Compression::Gzip, Compression::Snappy, Compression::Lz4,
                                Compression::Zstd};
  int64_t ts = 1000;
  for (Compression c : codecs) {  // 5 batches of 10 records, timestamps 1000, 1010, ...
    std::vector<kb::Record> records;
    for (int i = 0; i < 10; ++i, ts += 10) records.push_back({0, ts, "k", "v" + std::to_string(ts), {}});
    const std::string batch = codec::build_batch(records, c);
    log.append(bytes(batch), batch.size());
  }
  EXPECT_EQ(log.find_time(0), (std::pair<int64_t, int64_t>{0, 1000}));
  EXPECT_EQ(log.find_time(1105), (std::pair<int64_t, int64_t>{11, 1110}));  // gzip batch
  EXPECT_EQ(log.find_time(1230), (std::pair<int64_t, int64_t>{23, 1230}));  // snappy batch
  EXPECT_EQ(log.find_time(1371), (std::pair<int64_t, int64_t>{38, 1380}));  // lz4 batch
  EXPECT_EQ(log.find_time(1490), (std::pair<int64_t, int64_t>{49, 1490}));  // zstd batch, last record
  EXPECT_EQ(log.find_time(1491), (std::pair<int64_t, int64_t>{-1, -1}));
}

// ------------------------------------------------------------- filter_batch

// Six records, the first producer batch of producer 5 at offset 300.
std::vector<kb::Record> six_records() {
  std::vector<kb::Record> out;
  for (int i = 0; i < 6; ++i) {
    out.push_back(kb::Record{300 + i,
                             1'700'000'000'000 + 10 * i,
                             "key-" + std::to_string(i),
                             i == 2 ? std::nullopt : std::optional<std::string>("value-" + std::to_string(i)),
                             {{"h", std::to_string(i)}}});
  }
  return out;
}

std::string six_record_batch(Compression c) {
  std::string batch = codec::build_batch(six_records(), c, 300, 5, 3, 1000);
  kb::set_partition_leader_epoch(reinterpret_cast<uint8_t*>(batch.data()), 9);
  return batch;
}

std::function<bool(const kb::Record&)> keep_offsets(std::set<int64_t> offsets) {
  return [offsets](const kb::Record& r) { return offsets.count(r.offset) > 0; };
}

class CodecFilter : public testing::TestWithParam<Compression> {};

INSTANTIATE_TEST_SUITE_P(Codecs, CodecFilter,
                         testing::Values(Compression::None, Compression::Gzip, Compression::Snappy,
                                         Compression::Lz4, Compression::Zstd),
                         [](const auto& info) { return std::string(kb::compression_name(info.param)); });

TEST_P(CodecFilter, KeepingEveryRecordAsksForTheOriginalBytes) {
  const std::string batch = six_record_batch(GetParam());
  int calls = 0;
  const auto f =
      codec::filter_batch(bytes(batch), batch.size(), [&](const kb::Record&) { return ++calls > 0; });
  EXPECT_EQ(f.outcome, codec::FilteredBatch::Outcome::KeptAll);
  EXPECT_TRUE(f.batch.empty());
  EXPECT_EQ(f.kept, 6u);
  EXPECT_EQ(f.removed, 0u);
  EXPECT_EQ(calls, 6);
}

TEST_P(CodecFilter, RebuildsInTheSameCodecWithOffsetsAndProducerFields) {
  const std::string batch = six_record_batch(GetParam());
  const auto before = *kb::parse_header(bytes(batch), batch.size());
  // Drop the first, a middle and the last record: the survivors keep their
  // offsets and the batch its range.
  const auto f = codec::filter_batch(bytes(batch), batch.size(), keep_offsets({301, 302, 304}));
  ASSERT_EQ(f.outcome, codec::FilteredBatch::Outcome::Rebuilt);
  EXPECT_EQ(f.kept, 3u);
  EXPECT_EQ(f.removed, 3u);
  ASSERT_EQ(kb::validate(bytes(f.batch), f.batch.size()), "");
  const auto h = *kb::parse_header(bytes(f.batch), f.batch.size());
  EXPECT_EQ(h.total_size(), f.batch.size());
  EXPECT_EQ(h.compression(), GetParam());
  EXPECT_EQ(h.attributes, before.attributes);
  EXPECT_EQ(h.base_offset, 300);
  EXPECT_EQ(h.last_offset_delta, 5);
  EXPECT_EQ(h.last_offset(), 305);
  EXPECT_EQ(h.partition_leader_epoch, 9);
  EXPECT_EQ(h.producer_id, 5);
  EXPECT_EQ(h.producer_epoch, 3);
  EXPECT_EQ(h.base_sequence, 1000);
  EXPECT_EQ(h.records_count, 3);
  EXPECT_EQ(h.base_timestamp, 1'700'000'000'010);
  EXPECT_EQ(h.max_timestamp, 1'700'000'000'040);
  const auto all = six_records();
  EXPECT_EQ(codec::decode_batch(bytes(f.batch), f.batch.size()),
            (std::vector<kb::Record>{all[1], all[2], all[4]}));
}

TEST_P(CodecFilter, AnEmptiedBatchIsDroppedOrKeptAsABareHeader) {
  const std::string batch = six_record_batch(GetParam());
  const auto before = *kb::parse_header(bytes(batch), batch.size());
  const auto none = [](const kb::Record&) { return false; };

  const auto dropped = codec::filter_batch(bytes(batch), batch.size(), none);
  EXPECT_EQ(dropped.outcome, codec::FilteredBatch::Outcome::Emptied);
  EXPECT_TRUE(dropped.batch.empty());
  EXPECT_EQ(dropped.kept, 0u);
  EXPECT_EQ(dropped.removed, 6u);

  const auto header = codec::filter_batch(bytes(batch), batch.size(), none, true);
  EXPECT_EQ(header.outcome, codec::FilteredBatch::Outcome::Emptied);
  ASSERT_EQ(header.batch.size(), kb::kHeaderSize);
  ASSERT_EQ(kb::validate(bytes(header.batch), header.batch.size()), "");
  const auto h = *kb::parse_header(bytes(header.batch), header.batch.size());
  EXPECT_EQ(h.records_count, 0);
  EXPECT_EQ(h.compression(), Compression::None);  // nothing to decompress
  EXPECT_EQ(h.attributes & ~kb::kCompressionMask, before.attributes & ~kb::kCompressionMask);
  EXPECT_EQ(h.base_offset, 300);
  EXPECT_EQ(h.last_offset_delta, 5);
  EXPECT_EQ(h.partition_leader_epoch, 9);
  EXPECT_EQ(h.producer_id, 5);
  EXPECT_EQ(h.producer_epoch, 3);
  EXPECT_EQ(h.base_sequence, 1000);
  EXPECT_EQ(h.max_timestamp, before.max_timestamp);
  EXPECT_TRUE(codec::decode_batch(bytes(header.batch), header.batch.size()).empty());
}

TEST_P(CodecFilter, KeepsLogAppendTimeAndTransactionalFlags) {
  std::string batch = six_record_batch(GetParam());
  // The broker's append time, set in the header as a broker does.
  auto* p = reinterpret_cast<uint8_t*>(batch.data());
  const auto attrs = kb::detail::load_be<int16_t>(p + kb::kAttributesPos);
  kb::detail::store_be<int16_t>(
      p + kb::kAttributesPos, static_cast<int16_t>(attrs | kb::kLogAppendTimeFlag | kb::kTransactionalFlag));
  kb::detail::store_be<int64_t>(p + kb::kMaxTimestampPos, 1'800'000'000'000);
  kb::detail::store_be<uint32_t>(p + kb::kCrcPos, kb::compute_crc(p, batch.size()));
  ASSERT_EQ(kb::validate(bytes(batch), batch.size()), "");

  const auto f = codec::filter_batch(bytes(batch), batch.size(), keep_offsets({300, 303}));
  ASSERT_EQ(f.outcome, codec::FilteredBatch::Outcome::Rebuilt);
  const auto h = *kb::parse_header(bytes(f.batch), f.batch.size());
  EXPECT_TRUE(h.log_append_time());
  EXPECT_TRUE(h.transactional());
  EXPECT_FALSE(h.control());
  EXPECT_EQ(h.compression(), GetParam());
  EXPECT_EQ(h.max_timestamp, 1'800'000'000'000);
  const auto records = codec::decode_batch(bytes(f.batch), f.batch.size());
  ASSERT_EQ(records.size(), 2u);
  for (const auto& r : records) EXPECT_EQ(r.timestamp, 1'800'000'000'000);
  EXPECT_EQ(records[1].offset, 303);
}

TEST(CodecFilterControl, ControlBatchesAreKeptWithoutAsking) {
  // A transaction marker: a control batch with one control record.
  std::string key("\0\0\0\0", 4);
  std::string value("\0\0\0\0\0\0", 6);
  const std::string batch = kb::Builder(50)
                                .producer(5, 3, -1)
                                .attributes(kb::kControlFlag | kb::kTransactionalFlag)
                                .add(key, value, 1)
                                .build();
  int calls = 0;
  const auto f = codec::filter_batch(
      bytes(batch), batch.size(), [&](const kb::Record&) { return ++calls < 0; }, true);
  EXPECT_EQ(f.outcome, codec::FilteredBatch::Outcome::KeptAll);
  EXPECT_TRUE(f.batch.empty());
  EXPECT_EQ(f.kept, 1u);
  EXPECT_EQ(f.removed, 0u);
  EXPECT_EQ(calls, 0);
}

TEST(CodecFilterErrors, ACorruptBatchThrowsCorrupt) {
  std::string batch = six_record_batch(Compression::Gzip);
  batch[batch.size() - 3] ^= 0x40;
  EXPECT_EQ(code_of([&] {
              codec::filter_batch(bytes(batch), batch.size(), [](const kb::Record&) { return true; });
            }),
            KEEL_ERR_CORRUPT);
}

TEST_P(CodecRealClients, FilterKeepsTheClientsBatchFields) {
  const std::string batch = load_fixture(GetParam().file);
  const auto before = *kb::parse_header(bytes(batch), batch.size());
  const auto f =
      codec::filter_batch(bytes(batch), batch.size(), [](const kb::Record& r) { return r.offset % 3 == 1; });
  ASSERT_EQ(f.outcome, codec::FilteredBatch::Outcome::Rebuilt);
  const auto h = *kb::parse_header(bytes(f.batch), f.batch.size());
  EXPECT_EQ(h.attributes, before.attributes);
  EXPECT_EQ(h.last_offset_delta, before.last_offset_delta);
  EXPECT_EQ(h.producer_id, before.producer_id);
  EXPECT_EQ(h.producer_epoch, before.producer_epoch);
  EXPECT_EQ(h.base_sequence, before.base_sequence);
  EXPECT_EQ(h.partition_leader_epoch, before.partition_leader_epoch);
  std::vector<kb::Record> want;
  for (const auto& r : expected_records()) {
    if (r.offset % 3 == 1) want.push_back(r);
  }
  EXPECT_EQ(codec::decode_batch(bytes(f.batch), f.batch.size()), want);
}

}  // namespace
}  // namespace keel
