// PartitionLog: offset assignment, reads, rolling, rejection of bad input,
// time lookups, watches and retention deletes; each test runs with no index
// and with the built-in sparse-mmap + timestamp indexes.
#include "storage/partition_log.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <keel/record_batch.hpp>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "support/batch_bytes.hpp"
#include "support/builtin_indexes.hpp"
#include "support/error_of.hpp"
#include "support/temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
using keel::LogOptions;
using keel::PartitionLog;
using keel::ReadResult;
using ::testing::HasSubstr;
namespace batch = keel::batch;

// `records` records with timestamps ts0, ts0+1, ...; built with a base
// offset the log must overwrite.
std::string make_batch(int records, int64_t ts0, const std::string& tag = "value") {
  batch::Builder b(987'654);
  for (int i = 0; i < records; ++i) b.add("key" + std::to_string(i), tag + "-" + std::to_string(i), ts0 + i);
  return b.build();
}

using keel::test::bytes;
using keel::test::error_of;
using keel::test::read_bytes;

class PartitionLogTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override { indexes_.add_to(options_, GetParam()); }

  std::unique_ptr<PartitionLog> open_log(bool clean = true) {
    auto log = std::make_unique<PartitionLog>("orders", 3, dir_.sub("orders-3"), options_, &clock_);
    log->open(clean, 0);
    return log;
  }

  keel::AppendResult append(PartitionLog& log, const std::string& data) {
    return log.append(bytes(data), data.size());
  }

  keel::test::TempDir dir_{"keel-plog"};
  keel::ManualClock clock_{1'700'000'000'000};
  keel::test::BuiltinIndexes indexes_{&clock_};
  LogOptions options_;
};

TEST_P(PartitionLogTest, AppendedBytesReadBackWithTheAssignedOffset) {
  auto log = open_log();
  const std::string first = make_batch(2, 1000);
  const std::string data = make_batch(3, 2000, "payload");
  append(*log, first);
  keel::AppendResult r = append(*log, data);
  EXPECT_EQ(r.base_offset, 2);
  EXPECT_EQ(r.last_offset, 4);
  EXPECT_EQ(r.batches, 1);
  EXPECT_EQ(r.records, 3);
  EXPECT_EQ(r.bytes, static_cast<int64_t>(data.size()));

  ReadResult read = log->read(3, 1 << 20);
  ASSERT_TRUE(read.segment);
  const std::string stored = read_bytes(read);
  ASSERT_EQ(stored.size(), data.size());
  // Only baseOffset and partitionLeaderEpoch (0: the log's default) differ;
  // the CRC covers neither, so it still holds.
  EXPECT_EQ(stored.substr(8, 4), data.substr(8, 4));
  EXPECT_EQ(stored.substr(16), data.substr(16));
  EXPECT_EQ(batch::parse_header(bytes(stored), stored.size())->partition_leader_epoch, 0);
  EXPECT_EQ(batch::validate(bytes(stored), stored.size()), "");
  EXPECT_EQ(batch::parse_header(bytes(stored), stored.size())->base_offset, 2);
  auto records = batch::decode(bytes(stored), stored.size());
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].offset, 2);
  EXPECT_EQ(records[2].offset, 4);
  EXPECT_EQ(records[2].value, "payload-2");
  EXPECT_EQ(records[1].timestamp, 2001);
}

TEST_P(PartitionLogTest, OffsetsAreContiguousAcrossBatchesAndRequests) {
  auto log = open_log();
  EXPECT_EQ(append(*log, make_batch(3, 1)).base_offset, 0);
  EXPECT_EQ(append(*log, make_batch(1, 2)).base_offset, 3);
  // One request holding three batches.
  const std::string multi = make_batch(2, 3) + make_batch(4, 4) + make_batch(1, 5);
  keel::AppendResult r = append(*log, multi);
  EXPECT_EQ(r.base_offset, 4);
  EXPECT_EQ(r.last_offset, 10);
  EXPECT_EQ(r.batches, 3);
  EXPECT_EQ(r.records, 7);
  EXPECT_EQ(log->log_end_offset(), 11);

  // Every offset reads back in a batch holding it, and walking the log batch
  // by batch sees every offset exactly once.
  const std::vector<std::pair<int64_t, int64_t>> expected = {{0, 2}, {3, 3}, {4, 5}, {6, 9}, {10, 10}};
  for (const auto& [base, last] : expected) {
    for (int64_t off = base; off <= last; ++off) {
      const std::string got = read_bytes(log->read(off, 1));
      auto h = batch::parse_header(bytes(got), got.size());
      ASSERT_TRUE(h);
      EXPECT_EQ(h->base_offset, base) << "offset " << off;
      EXPECT_EQ(h->last_offset(), last) << "offset " << off;
      EXPECT_EQ(batch::validate(bytes(got), got.size()), "");
    }
  }
}

TEST_P(PartitionLogTest, ReadHonoursMaxBytesButReturnsAtLeastOneBatch) {
  auto log = open_log();
  const std::string b = make_batch(5, 10);
  for (int i = 0; i < 4; ++i) append(*log, b);
  const auto one = static_cast<int64_t>(b.size());
  EXPECT_EQ(log->read(7, 1).length, one);
  EXPECT_EQ(log->read(7, 1).position, one);
  EXPECT_EQ(log->read(7, 2 * one).length, 2 * one);
  EXPECT_EQ(log->read(7, 2 * one + 5).length, 2 * one);
  EXPECT_EQ(log->read(0, 1 << 20).length, 4 * one);
}

TEST_P(PartitionLogTest, ReadAtTheEndIsEmptyAndBeyondIsOutOfRange) {
  auto log = open_log();
  ReadResult empty = log->read(0, 100);
  EXPECT_EQ(empty.length, 0);
  append(*log, make_batch(3, 1));
  EXPECT_EQ(log->read(3, 100).length, 0);
  EXPECT_FALSE(log->read(3, 100).segment);

  for (int64_t bad : {int64_t{-1}, int64_t{4}, int64_t{1000}}) {
    keel::Error e = error_of([&] { log->read(bad, 100); });
    EXPECT_EQ(e.code(), KEEL_ERR_OUT_OF_RANGE) << bad;
    EXPECT_THAT(e.what(), HasSubstr("orders-3"));
    EXPECT_THAT(e.what(), HasSubstr("[0, 3]"));
  }
}

TEST_P(PartitionLogTest, RollsBySegmentBytesAndReadsAcrossSegments) {
  options_.segment_bytes = 1024;
  auto log = open_log();
  std::vector<std::string> values;
  for (int i = 0; i < 40; ++i) append(*log, make_batch(2, 100 + 2 * i, "v" + std::to_string(i)));
  ASSERT_EQ(log->log_end_offset(), 80);
  EXPECT_GT(log->segment_count(), 3u);

  // Segments hold contiguous ranges and stay within segment_bytes.
  auto infos = log->segment_infos();
  for (size_t i = 0; i < infos.size(); ++i) {
    EXPECT_LE(infos[i].size_bytes, 1024);
    if (i > 0) {
      EXPECT_EQ(infos[i].base_offset, infos[i - 1].next_offset);
    }
  }
  EXPECT_EQ(infos.front().base_offset, 0);
  EXPECT_EQ(infos.back().next_offset, 80);
  for (size_t i = 0; i < infos.size(); ++i) {
    EXPECT_TRUE(fs::exists(dir_.sub("orders-3/" + keel::Segment::file_name(infos[i].base_offset) + ".log")));
  }

  // A consumer loop: fetch, decode, continue after the last offset.
  int64_t next = 0;
  int fetches = 0;
  while (next < log->log_end_offset()) {
    ReadResult r = log->read(next, 1 << 20);
    ASSERT_GT(r.length, 0) << "at " << next;
    const std::string data = read_bytes(r);
    size_t pos = 0;
    while (pos < data.size()) {
      auto h = *batch::parse_header(bytes(data) + pos, data.size() - pos);
      for (const auto& rec : batch::decode(bytes(data) + pos, data.size() - pos)) {
        if (rec.offset < next) continue;
        EXPECT_EQ(rec.offset, next);
        EXPECT_EQ(rec.value, "v" + std::to_string(next / 2) + "-" + std::to_string(next % 2));
        ++next;
      }
      pos += h.total_size();
    }
    ++fetches;
  }
  EXPECT_EQ(next, 80);
  EXPECT_EQ(fetches, static_cast<int>(infos.size()));  // a read never spans segments
}

TEST_P(PartitionLogTest, RollsBySegmentAgeWithTheClock) {
  options_.segment_ms = 60'000;
  auto log = open_log();
  log->roll_if_aged();
  EXPECT_EQ(log->segment_count(), 1u);  // empty: never rolls
  append(*log, make_batch(2, 1));
  clock_.advance(59'999);
  log->roll_if_aged();
  EXPECT_EQ(log->segment_count(), 1u);
  clock_.advance(1);
  log->roll_if_aged();
  ASSERT_EQ(log->segment_count(), 2u);
  EXPECT_EQ(log->segment_infos().back().base_offset, 2);
  // The roll leaves the old segment's sync to the flusher.
  EXPECT_EQ(log->flushed_offset(), 0);
  EXPECT_TRUE(log->claim_sealed_sync());
  log->sync_sealed();
  EXPECT_EQ(log->flushed_offset(), 2);
  clock_.advance(120'000);
  log->roll_if_aged();
  EXPECT_EQ(log->segment_count(), 2u);  // the new one is still empty

  // An append to an aged segment rolls first.
  append(*log, make_batch(1, 2));
  clock_.advance(60'000);
  EXPECT_EQ(append(*log, make_batch(1, 3)).base_offset, 3);
  ASSERT_EQ(log->segment_count(), 3u);
  EXPECT_EQ(log->segment_infos().back().base_offset, 3);
  EXPECT_EQ(log->read(2, 1).segment, log->read(2, 100).segment);
  EXPECT_NE(log->read(2, 1).segment, log->read(3, 1).segment);
}

TEST_P(PartitionLogTest, RejectedInputWritesNothing) {
  options_.max_batch_bytes = 2000;
  auto log = open_log();
  append(*log, make_batch(2, 1));
  const int64_t end = log->log_end_offset();
  const int64_t size = log->size_bytes();

  const std::string good = make_batch(3, 10);
  std::string bad_crc = good;
  bad_crc[good.size() - 2] ^= 0x01;
  std::string magic1 = good;
  magic1[batch::kMagicPos] = 1;
  const std::string truncated = good.substr(0, good.size() - 1);
  const std::string huge = make_batch(1, 1, std::string(2100, 'x'));
  struct Case {
    const char* what;
    std::string data;
    keel_status code;
    const char* reason;
  };
  const std::vector<Case> cases = {
      {"wrong CRC", bad_crc, KEEL_ERR_CORRUPT, "CRC mismatch"},
      {"truncated", truncated, KEEL_ERR_CORRUPT, "truncated"},
      {"magic 1", magic1, KEEL_ERR_CORRUPT, "magic 1"},
      {"too large", huge, KEEL_ERR_TOO_LARGE, "max_batch_bytes (2000)"},
      {"good then bad", good + bad_crc, KEEL_ERR_CORRUPT, "batch #1"},
      {"good then torn", good + good.substr(0, 30), KEEL_ERR_CORRUPT, "truncated"},
      {"empty", "", KEEL_ERR_INVALID_ARGUMENT, "no record batch"},
  };
  for (const auto& c : cases) {
    keel::Error e = error_of([&] { log->append(bytes(c.data), c.data.size()); });
    EXPECT_EQ(e.code(), c.code) << c.what;
    EXPECT_THAT(e.what(), HasSubstr("orders-3")) << c.what;
    EXPECT_THAT(e.what(), HasSubstr(c.reason)) << c.what;
    EXPECT_EQ(log->log_end_offset(), end) << c.what;
    EXPECT_EQ(log->size_bytes(), size) << c.what;
  }
  // The log still takes good batches at the right offset.
  EXPECT_EQ(append(*log, good).base_offset, end);
}

TEST_P(PartitionLogTest, FindTimeAcrossSegments) {
  options_.segment_bytes = 1024;
  auto log = open_log();
  // Batch i: 3 records at 10'000 + 10i + {0,1,2}.
  for (int i = 0; i < 30; ++i) append(*log, make_batch(3, 10'000 + 10 * i));
  ASSERT_GT(log->segment_count(), 2u);
  using P = std::pair<int64_t, int64_t>;
  EXPECT_EQ(log->find_time(0), P(0, 10'000));
  EXPECT_EQ(log->find_time(10'001), P(1, 10'001));
  for (int i = 1; i < 30; ++i) {
    EXPECT_EQ(log->find_time(10'000 + 10 * i), P(3 * i, 10'000 + 10 * i)) << i;
    EXPECT_EQ(log->find_time(10'000 + 10 * i - 5), P(3 * i, 10'000 + 10 * i)) << i;
    EXPECT_EQ(log->find_time(10'000 + 10 * i + 2), P(3 * i + 2, 10'000 + 10 * i + 2)) << i;
  }
  EXPECT_EQ(log->find_time(10'293), P(-1, -1));
}

TEST_P(PartitionLogTest, FindTimeWithOutOfOrderTimestamps) {
  auto log = open_log();
  append(*log, make_batch(2, 5'000));  // 0,1
  append(*log, make_batch(2, 9'000));  // 2,3
  append(*log, make_batch(2, 1'000));  // 4,5: older than what precedes
  for (int i = 0; i < 10; ++i) append(*log, make_batch(1, 2'000 + i));
  using P = std::pair<int64_t, int64_t>;
  EXPECT_EQ(log->find_time(500), P(0, 5'000));
  EXPECT_EQ(log->find_time(6'000), P(2, 9'000));
  EXPECT_EQ(log->find_time(9'001), P(3, 9'001));
  EXPECT_EQ(log->find_time(9'002), P(-1, -1));
}

TEST_P(PartitionLogTest, WatermarksAndFlush) {
  auto log = open_log();
  EXPECT_EQ(log->log_start_offset(), 0);
  EXPECT_EQ(log->log_end_offset(), 0);
  EXPECT_EQ(log->high_watermark(), 0);
  EXPECT_EQ(log->flushed_offset(), 0);
  append(*log, make_batch(4, 1));
  EXPECT_EQ(log->log_end_offset(), 4);
  EXPECT_EQ(log->high_watermark(), 4);
  EXPECT_EQ(log->flushed_offset(), 0);
  EXPECT_EQ(log->unflushed_messages(), 4);
  clock_.advance(5);
  EXPECT_EQ(log->flush(), 4);
  EXPECT_EQ(log->flushed_offset(), 4);
  EXPECT_EQ(log->unflushed_messages(), 0);
  EXPECT_EQ(log->last_flush_ms(), clock_.now_ms());
}

TEST_P(PartitionLogTest, WatchFiresOnAppendAndNotAfterUnwatch) {
  auto log = open_log();
  std::atomic<int> fired_a{0}, fired_b{0}, fired_now{0};
  auto a = log->watch(0, [&](keel::WatchFired) { ++fired_a; });
  auto b = log->watch(0, [&](keel::WatchFired) { ++fired_b; });
  auto later = log->watch(5, [&](keel::WatchFired) { ++fired_now; });
  log->unwatch(b);
  EXPECT_EQ(fired_a.load(), 0);
  append(*log, make_batch(3, 1));  // end 3: passes 0, not 5
  EXPECT_EQ(fired_a.load(), 1);
  EXPECT_EQ(fired_b.load(), 0);
  EXPECT_EQ(fired_now.load(), 0);
  append(*log, make_batch(3, 1));  // end 6: passes 5; `a` fires only once
  EXPECT_EQ(fired_a.load(), 1);
  EXPECT_EQ(fired_now.load(), 1);
  // Data already beyond the offset: fires at once.
  std::atomic<int> immediate{0};
  log->watch(2, [&](keel::WatchFired) { ++immediate; });
  EXPECT_EQ(immediate.load(), 1);
  // Closing fires what is left.
  std::atomic<int> on_close{0};
  keel::WatchFired close_why = keel::WatchFired::kAppend;
  log->watch(100, [&](keel::WatchFired why) {
    ++on_close;
    close_why = why;
  });
  log->close();
  EXPECT_EQ(on_close.load(), 1);
  EXPECT_EQ(close_why, keel::WatchFired::kOther);
}

TEST_P(PartitionLogTest, DeleteOldestKeepsTheActiveSegmentAndPinnedReaders) {
  options_.segment_bytes = 1024;
  auto log = open_log();
  for (int i = 0; i < 30; ++i) append(*log, make_batch(2, 100 + i));
  const size_t segments = log->segment_count();
  ASSERT_GE(segments, 3u);
  auto infos = log->segment_infos();

  ReadResult pinned = log->read(0, 1 << 20);
  ASSERT_GT(pinned.length, 0);
  const std::string before = read_bytes(pinned);
  const std::string first_log = pinned.segment->path();

  EXPECT_EQ(log->delete_oldest(1), 1);
  EXPECT_EQ(log->segment_count(), segments - 1);
  EXPECT_EQ(log->log_start_offset(), infos[1].base_offset);
  EXPECT_EQ(error_of([&] { log->read(0, 100); }).code(), KEEL_ERR_OUT_OF_RANGE);
  // The reader that held the segment still reads its bytes.
  EXPECT_EQ(read_bytes(pinned), before);
  pinned = ReadResult{};
  EXPECT_FALSE(fs::exists(first_log));

  // Asking for everything still leaves the active segment.
  EXPECT_EQ(log->delete_oldest(100), static_cast<int>(segments - 2));
  EXPECT_EQ(log->segment_count(), 1u);
  EXPECT_EQ(log->log_start_offset(), infos.back().base_offset);
  EXPECT_EQ(log->log_end_offset(), 60);
  EXPECT_EQ(log->delete_oldest(1), 0);
  std::vector<std::string> logs;
  for (const auto& e : fs::directory_iterator(dir_.sub("orders-3"))) {
    if (e.path().extension() == ".log") logs.push_back(e.path().filename().string());
  }
  EXPECT_THAT(logs, ::testing::ElementsAre(keel::Segment::file_name(infos.back().base_offset) + ".log"));
  EXPECT_EQ(append(*log, make_batch(1, 1)).base_offset, 60);
}

TEST_P(PartitionLogTest, DeleteRecordsMovesTheStartDurably) {
  options_.segment_bytes = 1024;
  {
    auto log = open_log();
    for (int i = 0; i < 30; ++i) append(*log, make_batch(2, 100 + 2 * i));
    ASSERT_GE(log->segment_count(), 3u);  // offset 31 is past the first
    EXPECT_EQ(log->delete_records(31), 31);
    EXPECT_EQ(log->log_start_offset(), 31);
    // Below the start nothing is read, even inside the segment holding it;
    // at the start, the batch holding it.
    EXPECT_EQ(error_of([&] { log->read(30, 100); }).code(), KEEL_ERR_OUT_OF_RANGE);
    EXPECT_EQ(log->read(31, 1).length > 0, true);
    // A search by time answers at least the start.
    EXPECT_EQ(log->find_time(0).first, 31);
    // Lower changes nothing; beyond the high watermark, or negative, is refused.
    EXPECT_EQ(log->delete_records(5), 31);
    EXPECT_EQ(error_of([&] { log->delete_records(61); }).code(), KEEL_ERR_OUT_OF_RANGE);
    EXPECT_EQ(error_of([&] { log->delete_records(-2); }).code(), KEEL_ERR_INVALID_ARGUMENT);
    // Whole segments below the start are retention's to delete.
    const size_t below = log->segments_below_start();
    EXPECT_GT(below, 0u);
    EXPECT_EQ(log->delete_oldest(below), static_cast<int>(below));
    EXPECT_EQ(log->segments_below_start(), 0u);
    EXPECT_EQ(log->log_start_offset(), 31);  // not the first segment's base
    EXPECT_LE(log->segment_infos().front().base_offset, 31);
    log->close(PartitionLog::Closing::Discard);  // as a crash would leave it
  }
  auto reopened = open_log(false);
  EXPECT_EQ(reopened->log_start_offset(), 31);
  EXPECT_EQ(error_of([&] { reopened->read(30, 100); }).code(), KEEL_ERR_OUT_OF_RANGE);
  EXPECT_EQ(reopened->delete_records(-1), 60);  // -1 = the high watermark
  EXPECT_EQ(reopened->log_start_offset(), 60);
  EXPECT_EQ(append(*reopened, make_batch(1, 1)).base_offset, 60);
  EXPECT_EQ(reopened->read(60, 100).length > 0, true);
}

TEST_P(PartitionLogTest, CloseThenReopenKeepsEverything) {
  options_.segment_bytes = 1024;
  std::vector<std::string> stored;
  int64_t end = 0;
  {
    auto log = open_log();
    for (int i = 0; i < 25; ++i) append(*log, make_batch(2, 100 + i, "c" + std::to_string(i)));
    end = log->log_end_offset();
    for (int64_t off = 0; off < end; off += 2) stored.push_back(read_bytes(log->read(off, 1)));
    log->close();
    EXPECT_EQ(log->flushed_offset(), end);
    EXPECT_EQ(error_of([&] { append(*log, make_batch(1, 1)); }).code(), KEEL_ERR_UNAVAILABLE);
  }
  auto log = open_log(/*clean=*/true);
  EXPECT_EQ(log->log_end_offset(), end);
  EXPECT_EQ(log->flushed_offset(), end);
  for (int64_t off = 0; off < end; off += 2) EXPECT_EQ(read_bytes(log->read(off, 1)), stored[off / 2]) << off;
  EXPECT_EQ(append(*log, make_batch(1, 1)).base_offset, end);
}

INSTANTIATE_TEST_SUITE_P(Indexes, PartitionLogTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "WithIndexes" : "NoIndexes"; });

}  // namespace
