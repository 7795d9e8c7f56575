// The HTTP transport's record reader against a real broker: records come
// out at the offsets Kafka gave them whatever codec their batch used, a
// read may start or stop inside a batch and the next one continues exactly
// there, at least one batch is read however small max_bytes is (as Kafka's
// fetch does, so a large record never blocks a reader), and an unknown
// topic or partition is a 404 (docs/protocol.md, "HTTP endpoints").
#include <gtest/gtest.h>

#include <keel/codec.hpp>
#include <keel/record_batch.hpp>
#include <memory>
#include <string>
#include <vector>

#include "broker.hpp"
#include "common/clock.hpp"
#include "config/config.hpp"
#include "support/temp_dir.hpp"
#include "transport/http/checked_broker.hpp"
#include "transport/http/errors.hpp"
#include "transport/http/record_reader.hpp"

namespace keel::web {
namespace {

// The tests only read: one broker with one log serves them all.
class HttpRecordReaderTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<keel::test::TempDir>("keel-http-reader");
    const std::string text = "[broker]\ndata_dir = \"" + dir_->sub("data") +
                             "\"\nplugin_path = [\"" KEEL_TEST_PLUGIN_DIR
                             "\"]\nauto_create_topics = false\n"
                             "[topics.t]\npartitions = 1\n";
    broker_ = std::make_unique<keel::Broker>(keel::parse_config(text, "test.toml"), clock_.get());
    broker_->start();
    checked_ = std::make_unique<CheckedBroker>(broker_->api());
    // Offsets 0-2 uncompressed, 3-6 in one gzip batch.
    produce(records(0, 3), batch::Compression::None);
    produce(records(3, 4), batch::Compression::Gzip);
  }
  static void TearDownTestSuite() {
    checked_.reset();
    broker_.reset();
    dir_.reset();
  }

  static std::vector<batch::Record> records(int first, int count) {
    std::vector<batch::Record> out;
    for (int i = first; i < first + count; ++i) {
      out.push_back({0, clock_->now_ms(), "k" + std::to_string(i), "v" + std::to_string(i), {}});
    }
    return out;
  }

  static void produce(const std::vector<batch::Record>& rs, batch::Compression c) {
    const std::string data = codec::build_batch(rs, c);
    const keel_broker_api* api = broker_->api();
    keel_status status = KEEL_ERR_INTERNAL;
    api->produce(
        api->ctx, "t", 0, reinterpret_cast<const uint8_t*>(data.data()), data.size(), KEEL_ACKS_LEADER,
        [](void* user, const keel_produce_result* r) { *static_cast<keel_status*>(user) = r->status; },
        &status);
    ASSERT_EQ(status, KEEL_OK);  // acks=1 answers before produce returns
  }

  static ReadResult read(int64_t offset, size_t max_records = 100, int64_t max_bytes = 1 << 20) {
    return read_records(*checked_, "t", 0, offset, max_records, max_bytes);
  }

  static std::vector<int64_t> offsets(const ReadResult& r) {
    std::vector<int64_t> out;
    for (const auto& rec : r.records) {
      EXPECT_EQ(rec.key, "k" + std::to_string(rec.offset));
      EXPECT_EQ(rec.value, "v" + std::to_string(rec.offset));
      out.push_back(rec.offset);
    }
    return out;
  }

  static inline std::unique_ptr<keel::test::TempDir> dir_;
  static inline auto clock_ = std::make_unique<keel::ManualClock>(1'700'000'000'000);
  static inline std::unique_ptr<keel::Broker> broker_;
  static inline std::unique_ptr<CheckedBroker> checked_;
};

TEST_F(HttpRecordReaderTest, ReadsEveryRecordAcrossBatchesAndCodecs) {
  const ReadResult r = read(0);
  EXPECT_EQ(offsets(r), (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(r.next_offset, 7);
  EXPECT_EQ(r.watermarks.high_watermark, 7);
}

TEST_F(HttpRecordReaderTest, StartsInsideACompressedBatch) {
  const ReadResult r = read(5);
  EXPECT_EQ(offsets(r), (std::vector<int64_t>{5, 6}));
  EXPECT_EQ(r.next_offset, 7);
}

TEST_F(HttpRecordReaderTest, StopsInsideABatchAndTheNextReadContinuesThere) {
  const ReadResult first = read(1, 3);
  EXPECT_EQ(offsets(first), (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(first.next_offset, 4);
  const ReadResult rest = read(first.next_offset, 3);
  EXPECT_EQ(offsets(rest), (std::vector<int64_t>{4, 5, 6}));
  EXPECT_EQ(rest.next_offset, 7);
}

TEST_F(HttpRecordReaderTest, ReadsAWholeBatchHoweverSmallMaxBytesIs) {
  const ReadResult r = read(0, 100, 1);
  EXPECT_EQ(offsets(r), (std::vector<int64_t>{0, 1, 2}));
  EXPECT_EQ(r.next_offset, 3);
}

TEST_F(HttpRecordReaderTest, AtTheHighWatermarkThereIsNothingYet) {
  const ReadResult r = read(7);
  EXPECT_TRUE(r.records.empty());
  EXPECT_EQ(r.next_offset, 7);
}

// The HttpError a read of `topic`/`partition` fails with.
HttpError read_error(const CheckedBroker& broker, const std::string& topic, int32_t partition) {
  try {
    read_records(broker, topic, partition, 0, 10, 1024);
  } catch (const HttpError& e) {
    return e;
  }
  ADD_FAILURE() << topic << "-" << partition << " was read";
  return bad_request("");
}

TEST_F(HttpRecordReaderTest, UnknownTopicsAndPartitionsAre404) {
  const HttpError topic = read_error(*checked_, "nope", 0);
  EXPECT_EQ(topic.status(), bhttp::status::not_found);
  EXPECT_EQ(topic.code(), "unknown_topic");
  const HttpError partition = read_error(*checked_, "t", 5);
  EXPECT_EQ(partition.status(), bhttp::status::not_found);
  EXPECT_EQ(partition.code(), "unknown_partition");
}

}  // namespace
}  // namespace keel::web
