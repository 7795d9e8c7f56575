// Consumer offsets in the internal compacted topic __consumer_offsets,
// through a real Broker and the C API transports use: restarts, the
// interval flush mode, the one-time migration of the old journal file,
// read-only access for clients, and compaction keeping the topic small.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <keel/record_batch.hpp>
#include <memory>
#include <string>
#include <vector>

#include "broker.hpp"
#include "common/clock.hpp"
#include "common/error.hpp"
#include "config/config.hpp"
#include "groups/legacy_offsets_journal.hpp"
#include "groups/offset_records.hpp"
#include "storage/segment.hpp"
#include "support/group_commit.hpp"
#include "support/legacy_offsets_journal_writer.hpp"
#include "support/log_capture.hpp"
#include "support/temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class OffsetsTopicTest : public ::testing::Test {
 protected:
  std::string data_dir() const { return dir_.sub("data"); }

  void start(const std::string& broker_keys = "") {
    const std::string text = "[broker]\ndata_dir = \"" + data_dir() +
                             "\"\nplugin_path = [\"" KEEL_TEST_PLUGIN_DIR "\"]\nretention_check_ms = 1000\n" +
                             broker_keys + "\n[topics.orders]\npartitions = 4\n";
    broker_ = std::make_unique<keel::Broker>(keel::parse_config(text, "test.toml"), &clock_);
    broker_->start();
    api_ = broker_->api();
  }
  void restart(const std::string& broker_keys = "") {
    broker_->stop();
    broker_.reset();
    start(broker_keys);
  }

  keel_status commit(const std::string& group, int32_t partition, int64_t offset, const char* metadata = "") {
    return keel::test::commit_offsets(api_, group,
                                      {keel::test::offset_commit("orders", partition, offset, metadata)})
        .status;
  }
  int64_t fetch(const std::string& group, int32_t partition) {
    int64_t offset = -2;
    EXPECT_EQ(api_->fetch_offset(api_->ctx, group.c_str(), "orders", partition, &offset, nullptr, nullptr),
              KEEL_OK);
    return offset;
  }
  int64_t internal_end() { return broker_->partition(keel::offsets::kTopic, 0)->log_end_offset(); }
  int64_t internal_bytes() {
    int64_t total = 0;
    for (const auto& s : broker_->partition(keel::offsets::kTopic, 0)->segment_infos()) total += s.size_bytes;
    return total;
  }

  keel::test::TempDir dir_{"keel-offsets-topic"};
  keel::ManualClock clock_{1'700'000'000'000};
  std::unique_ptr<keel::Broker> broker_;
  const keel_broker_api* api_ = nullptr;
};

TEST_F(OffsetsTopicTest, CommitsOfARequestAreOneBatchAndSurviveRestarts) {
  start();
  std::vector<keel_offset_commit> commits;
  for (int32_t p = 0; p < 4; ++p) commits.push_back(keel::test::offset_commit("orders", p, 100 + p, "m"));
  const keel::test::CommitOutcome c = keel::test::commit_offsets(api_, "g", commits);
  ASSERT_EQ(c.status, KEEL_OK) << c.message;
  EXPECT_EQ(c.calls, 1);
  EXPECT_EQ(internal_end(), 4);  // four records...
  EXPECT_EQ(broker_->partition(keel::offsets::kTopic, 0)->flushed_offset(),
            4);  // ...synced before the answer
  ASSERT_EQ(commit("g", 1, 555), KEEL_OK);
  for (int i = 0; i < 2; ++i) {
    restart();
    EXPECT_EQ(fetch("g", 0), 100);
    EXPECT_EQ(fetch("g", 1), 555);
    EXPECT_EQ(fetch("g", 3), 103);
    EXPECT_EQ(fetch("other", 0), -1);
  }
  EXPECT_FALSE(fs::exists(data_dir() + "/" + keel::kLegacyOffsetsJournal));
}

TEST_F(OffsetsTopicTest, GroupMetadataSurvivesRestartsAndCanBeRemoved) {
  start();
  keel_error err{};
  ASSERT_EQ(api_->store_group_metadata(api_->ctx, "g", R"({"generation":7})", &err), KEEL_OK) << err.message;
  restart();
  std::string got;
  auto cb = [](void* user, const char* v) { *static_cast<std::string*>(user) = v; };
  ASSERT_EQ(api_->group_metadata(api_->ctx, "g", cb, &got), KEEL_OK);
  EXPECT_EQ(got, R"({"generation":7})");
  ASSERT_EQ(api_->store_group_metadata(api_->ctx, "g", "", &err), KEEL_OK);
  restart();
  EXPECT_EQ(api_->group_metadata(api_->ctx, "g", cb, &got), KEEL_ERR_NOT_FOUND);
}

TEST_F(OffsetsTopicTest, IntervalModeWritesOnTheIntervalAndAtShutdown) {
  const std::string keys = "offsets_flush = \"interval\"\noffsets_flush_interval_ms = 5000\n";
  start(keys);
  for (int i = 0; i < 50; ++i) ASSERT_EQ(commit("g", 0, i), KEEL_OK);
  EXPECT_EQ(fetch("g", 0), 49);
  EXPECT_EQ(internal_end(), 0);
  clock_.advance(5000);
  broker_->run_maintenance();
  EXPECT_EQ(internal_end(), 1);  // only the newest of the 50 commits
  ASSERT_EQ(commit("g", 0, 77), KEEL_OK);
  restart(keys);  // a clean stop writes what is dirty
  EXPECT_EQ(fetch("g", 0), 77);
}

TEST_F(OffsetsTopicTest, TheOldJournalIsMigratedOnceThenRemoved) {
  fs::create_directories(data_dir());
  {
    std::ofstream out(data_dir() + "/" + keel::kLegacyOffsetsJournal, std::ios::binary);
    out << keel::test::journal_commit("g", "orders", 0, 10, "meta")
        << keel::test::journal_commit("g", "orders", 1, 11)
        << keel::test::journal_commit("h", "orders", 2, 12);
  }
  start();
  EXPECT_FALSE(fs::exists(data_dir() + "/" + keel::kLegacyOffsetsJournal));
  EXPECT_EQ(fetch("g", 0), 10);
  EXPECT_EQ(fetch("h", 2), 12);
  ASSERT_EQ(commit("g", 0, 20), KEEL_OK);
  restart();
  EXPECT_EQ(fetch("g", 0), 20);
  EXPECT_EQ(fetch("g", 1), 11);
}

TEST_F(OffsetsTopicTest, ClientsMayReadButNotWriteCreateOrDeleteIt) {
  start();
  keel_error err{};
  EXPECT_EQ(api_->delete_topic(api_->ctx, keel::offsets::kTopic, &err), KEEL_ERR_INVALID_NAME);
  EXPECT_THAT(err.message, HasSubstr("internal"));
  keel_create_topic_args args{};
  args.struct_size = sizeof args;
  args.partitions = 1;
  args.name = keel::offsets::kTopic;
  EXPECT_NE(api_->create_topic(api_->ctx, &args, &err), KEEL_OK);

  keel::batch::Builder b(0);
  b.add(std::string("k"), std::string("v"), clock_.now_ms());
  const std::string data = b.build();
  struct Result {
    keel_status status = KEEL_OK;
    std::string message;
  } result;
  api_->produce(
      api_->ctx, keel::offsets::kTopic, 0, reinterpret_cast<const uint8_t*>(data.data()), data.size(), 1,
      [](void* user, const keel_produce_result* r) {
        static_cast<Result*>(user)->status = r->status;
        static_cast<Result*>(user)->message = r->message ? r->message : "";
      },
      &result);
  EXPECT_EQ(result.status, KEEL_ERR_INVALID_NAME);
  EXPECT_THAT(result.message, HasSubstr("internal"));

  ASSERT_EQ(commit("g", 0, 5), KEEL_OK);
  keel_fetch_result f{};
  f.struct_size = sizeof f;
  ASSERT_EQ(api_->fetch(api_->ctx, keel::offsets::kTopic, 0, 0, 1 << 20, &f, &err), KEEL_OK) << err.message;
  EXPECT_GT(f.length, 0);
  api_->release_fetch(api_->ctx, &f);
  bool internal = false;
  api_->describe_topic(
      api_->ctx, keel::offsets::kTopic,
      [](void* user, const keel_topic_info* t) { *static_cast<bool*>(user) = t->internal != 0; }, &internal);
  EXPECT_TRUE(internal);
}

TEST_F(OffsetsTopicTest, CompactionKeepsTheTopicSmallUnderRepeatedCommits) {
  const std::string keys = "offsets_topic_segment_bytes = 4096\n";
  start(keys);
  for (int i = 0; i < 2000; ++i) ASSERT_EQ(commit("g", i % 4, i), KEEL_OK);
  const int64_t before = internal_bytes();
  ASSERT_GT(before, 100'000);
  // Each maintenance pass compacts what is dirty enough.
  for (int round = 0; round < 5; ++round) {
    clock_.advance(1000);
    broker_->run_maintenance();
  }
  const int64_t after = internal_bytes();
  EXPECT_LT(after, 3 * 4096) << "from " << before << " bytes";
  restart(keys);
  for (int32_t p = 0; p < 4; ++p) EXPECT_EQ(fetch("g", p), 1996 + p);
}

TEST_F(OffsetsTopicTest, TheConfigCannotDeclareTheInternalTopic) {
  const std::string text = "[broker]\ndata_dir = \"" + data_dir() +
                           "\"\nplugin_path = [\"" KEEL_TEST_PLUGIN_DIR
                           "\"]\n[topics.__consumer_offsets]\nretention = [\"time\"]\n";
  keel::Broker broker(keel::parse_config(text, "test.toml"), &clock_);
  try {
    broker.start();
    FAIL() << "expected the start to fail";
  } catch (const keel::Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("test.toml: [topics.__consumer_offsets] is not allowed"));
    EXPECT_THAT(e.what(), HasSubstr("offsets_*"));
  }
}

}  // namespace

// A batch of __consumer_offsets whose bytes changed on disk (CRC mismatch)
// after a clean stop: the broker starts, warns naming the partition, the
// segment file, the position and the offset, and each group/partition keeps
// its newest commit from the intact batches before and after it.
TEST_F(OffsetsTopicTest, ADamagedBatchIsSkippedWithAWarningNamingItsFile) {
  start();
  ASSERT_EQ(commit("g", 0, 10), KEEL_OK);  // internal offset 0
  ASSERT_EQ(commit("g", 0, 20), KEEL_OK);  // internal offset 1: to be damaged
  ASSERT_EQ(commit("h", 1, 5), KEEL_OK);   // internal offset 2
  broker_->stop();
  broker_.reset();

  const std::string segment =
      data_dir() + "/" + keel::offsets::kTopic + "-0/" + keel::Segment::file_name(0) + ".log";
  std::fstream f(segment, std::ios::in | std::ios::out | std::ios::binary);
  ASSERT_TRUE(f) << segment;
  char len[4];
  f.seekg(8);
  f.read(len, 4);  // the first batch's length field: the second starts after it
  const int64_t second =
      12 + ((uint8_t(len[0]) << 24) | (uint8_t(len[1]) << 16) | (uint8_t(len[2]) << 8) | uint8_t(len[3]));
  f.seekg(second + keel::batch::kHeaderSize + 4);
  char byte = 0;
  f.read(&byte, 1);
  byte = static_cast<char>(byte ^ 0x40);
  f.seekp(second + keel::batch::kHeaderSize + 4);
  f.write(&byte, 1);
  f.close();

  keel::test::LogCapture logs;
  start();
  EXPECT_EQ(fetch("g", 0), 10);  // the damaged commit of 20 is lost, the one before it stands
  EXPECT_EQ(fetch("h", 1), 5);   // commits after the damage are all there
  // The segment walk finds the damage (CRC) and quarantines it; the warning
  // names the file, the byte position and the offset.
  const std::string where = "offsets 1..1 in '" + segment + "' at bytes " + std::to_string(second) + "..";
  EXPECT_EQ(logs.count("skipping damaged data, " + where), 1) << "no warning naming " << where;
  EXPECT_EQ(logs.count("skipped 1 damaged batch(es)"), 1);
}
