// PartitionLog's follower primitives (docs/design/replication.md): the high
// watermark apart from the log end, reads and watches capped by it, copying
// a leader's batches as they are (append_replica), truncation (truncate_to),
// starting over at a leader's log start (reset_to) and the high watermark
// checkpoint. Real files in a temp dir; each test
// runs with no index and with the built-in sparse-mmap + timestamp indexes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <keel/record_batch.hpp>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "storage/log_rewriter.hpp"
#include "storage/partition_log.hpp"
#include "support/batch_bytes.hpp"
#include "support/builtin_indexes.hpp"
#include "support/error_of.hpp"
#include "support/temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
namespace batch = keel::batch;
using keel::AppendResult;
using keel::LogOptions;
using keel::PartitionLog;
using keel::ReadResult;
using keel::WatchFired;
using keel::WatchOn;
using ::testing::HasSubstr;
using Verdict = keel::ProducerState::Verdict;

// `records` records; the base offset is the log's to assign.
std::string fresh_batch(int records, int64_t ts0, const std::string& tag = "value") {
  batch::Builder b;
  for (int i = 0; i < records; ++i) b.add("key" + std::to_string(i), tag + "-" + std::to_string(i), ts0 + i);
  return b.build();
}

std::string idempotent_batch(int64_t pid, int32_t seq, int records, int64_t ts) {
  batch::Builder b;
  for (int i = 0; i < records; ++i) b.add("k", "v" + std::to_string(seq + i), ts);
  b.producer(pid, 0, seq);
  return b.build();
}

using keel::test::bytes;

using keel::test::read_bytes;

// Every stored batch of the log, concatenated.
std::string all_bytes(const PartitionLog& log) {
  std::string out;
  log.for_each_batch([&](const uint8_t* p, size_t n) {
    out.append(reinterpret_cast<const char*>(p), n);
    return true;
  });
  return out;
}

// {base, last} of each stored batch.
std::vector<std::pair<int64_t, int64_t>> batch_ranges(const PartitionLog& log) {
  std::vector<std::pair<int64_t, int64_t>> out;
  log.for_each_batch([&](const uint8_t* p, size_t n) {
    auto h = *batch::parse_header(p, n);
    out.emplace_back(h.base_offset, h.last_offset());
    return true;
  });
  return out;
}

using keel::test::error_of;

class ReplicationLogTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override { indexes_.add_to(options_, GetParam()); }

  std::unique_ptr<PartitionLog> open_log(bool replicated, const std::string& name = "orders-3",
                                         bool clean = true, int64_t recovery_point = 0) {
    auto log = std::make_unique<PartitionLog>("orders", 3, dir_.sub(name), options_, &clock_);
    log->set_replicated(replicated);
    log->open(clean, recovery_point);
    return log;
  }

  AppendResult append(PartitionLog& log, const std::string& data, int32_t epoch = 0) {
    return log.append(bytes(data), data.size(), epoch);
  }
  AppendResult replicate(PartitionLog& log, const std::string& data) {
    return log.append_replica(bytes(data), data.size());
  }
  // Copies the leader's log into the follower as a fetcher would: reads
  // from the follower's end, `max_bytes` at a time.
  void copy(const PartitionLog& leader, PartitionLog& follower, int64_t max_bytes = 300) {
    while (follower.log_end_offset() < leader.log_end_offset()) {
      const std::string got = read_bytes(leader.read_to_end(follower.log_end_offset(), max_bytes));
      ASSERT_FALSE(got.empty());
      replicate(follower, got);
    }
  }
  std::set<std::string> files(const std::string& name = "orders-3") {
    std::set<std::string> out;
    for (const auto& e : fs::directory_iterator(dir_.sub(name))) out.insert(e.path().filename().string());
    return out;
  }
  std::set<std::string> log_files(const std::string& name = "orders-3") {
    std::set<std::string> out;
    for (const auto& f : files(name)) {
      if (f.ends_with(".log") || f.ends_with(".deleted")) out.insert(f);
    }
    return out;
  }

  keel::test::TempDir dir_{"keel-replog"};
  static constexpr int64_t now_ = 1'700'000'000'000;  // producers are not expired
  keel::ManualClock clock_{now_};
  keel::test::BuiltinIndexes indexes_{&clock_};
  LogOptions options_;
};

// ------------------------------------------------------- high watermark

TEST_P(ReplicationLogTest, WithoutReplicationTheHighWatermarkIsTheLogEnd) {
  auto log = open_log(false);
  EXPECT_FALSE(log->replicated());
  for (int i = 0; i < 4; ++i) {
    append(*log, fresh_batch(2, 100));
    EXPECT_EQ(log->high_watermark(), log->log_end_offset());
  }
  EXPECT_EQ(log->truncate_to(4, "test"), 4);
  EXPECT_EQ(log->high_watermark(), 4);
  replicate(*log, [&] {
    batch::Builder b(4);
    b.add("k", "v", 1);
    return b.build();
  }());
  EXPECT_EQ(log->high_watermark(), 5);
  log->checkpoint_high_watermark();  // not replicated: no file
  log->close();
  EXPECT_FALSE(files().contains("high-watermark"));
  log = open_log(false);
  EXPECT_EQ(log->high_watermark(), 5);
}

TEST_P(ReplicationLogTest, ReplicatedHighWatermarkMovesOnlyWhenSetAndIsClamped) {
  auto log = open_log(true);
  EXPECT_TRUE(log->replicated());
  for (int i = 0; i < 3; ++i) append(*log, fresh_batch(2, 100));
  EXPECT_EQ(log->log_end_offset(), 6);
  EXPECT_EQ(log->high_watermark(), 0);  // a new log without a checkpoint: the log start
  log->set_high_watermark(4);
  EXPECT_EQ(log->high_watermark(), 4);
  append(*log, fresh_batch(2, 100));
  EXPECT_EQ(log->high_watermark(), 4);
  log->set_high_watermark(2);  // down: a follower that truncated
  EXPECT_EQ(log->high_watermark(), 2);
  log->set_high_watermark(1000);
  EXPECT_EQ(log->high_watermark(), 8);
  log->set_high_watermark(-7);
  EXPECT_EQ(log->high_watermark(), 0);
  // DeleteRecords is bounded by the high watermark, not the log end.
  log->set_high_watermark(4);
  EXPECT_EQ(error_of([&] { log->delete_records(6); }).code(), KEEL_ERR_OUT_OF_RANGE);
  EXPECT_EQ(log->delete_records(-1), 4);
  log->set_high_watermark(0);
  EXPECT_EQ(log->high_watermark(), 4);  // never below the log start
  // Turning replication off puts it back at the log end.
  log->set_replicated(false);
  EXPECT_EQ(log->high_watermark(), 8);
}

TEST_P(ReplicationLogTest, ConsumerReadsStopAtTheHighWatermarkFollowerReadsDoNot) {
  auto log = open_log(true);
  const std::string b = fresh_batch(2, 100);
  const auto one = static_cast<int64_t>(b.size());
  for (int i = 0; i < 3; ++i) append(*log, b);  // batches 0-1, 2-3, 4-5
  log->set_high_watermark(4);
  EXPECT_EQ(log->read(0, 1 << 20).length, 2 * one);
  EXPECT_EQ(log->read(3, 1 << 20).length, one);
  EXPECT_EQ(log->read_to_end(0, 1 << 20).length, 3 * one);
  EXPECT_EQ(log->read_to_end(4, 1 << 20).length, one);
  // In [HW, LEO]: nothing, no error; past the end: out of range as ever.
  for (int64_t at : {4, 5, 6}) {
    const ReadResult r = log->read(at, 1 << 20);
    EXPECT_EQ(r.length, 0) << at;
    EXPECT_FALSE(r.segment) << at;
  }
  EXPECT_EQ(error_of([&] { log->read(7, 100); }).code(), KEEL_ERR_OUT_OF_RANGE);
  EXPECT_EQ(error_of([&] { log->read_to_end(7, 100); }).code(), KEEL_ERR_OUT_OF_RANGE);
  // A high watermark inside a batch stops before that batch.
  log->set_high_watermark(3);
  EXPECT_EQ(log->read(0, 1 << 20).length, one);
  EXPECT_EQ(log->read(2, 1 << 20).length, 0);
  log->set_high_watermark(0);
  EXPECT_EQ(log->read(0, 1 << 20).length, 0);
}

TEST_P(ReplicationLogTest, ConsumerReadsDoNotRunIntoTheNextSegmentPastTheHighWatermark) {
  options_.segment_bytes = 1;  // one batch per segment
  auto log = open_log(true);
  const std::string b = fresh_batch(2, 100);
  for (int i = 0; i < 3; ++i) append(*log, b);
  ASSERT_EQ(log->segment_count(), 3u);
  log->set_high_watermark(3);  // inside the second segment's batch
  EXPECT_EQ(log->read(0, 1 << 20).length, static_cast<int64_t>(b.size()));
  EXPECT_EQ(log->read(2, 1 << 20).length, 0);
  log->set_high_watermark(6);
  const std::string got = read_bytes(log->read(2, 1 << 20));
  EXPECT_EQ(batch::parse_header(bytes(got), got.size())->base_offset, 2);
}

TEST_P(ReplicationLogTest, ConsumerWatchesWaitForTheHighWatermarkFollowerWatchesForTheEnd) {
  auto log = open_log(true);
  int consumer = 0, follower = 0, later = 0;
  // Why each fired last: only an append may be answered from the callback.
  WatchFired consumer_why = WatchFired::kAppend, follower_why = WatchFired::kOther;
  auto c = log->watch(0, [&](WatchFired why) {
    ++consumer;
    consumer_why = why;
  });
  auto f = log->watch(
      0,
      [&](WatchFired why) {
        ++follower;
        follower_why = why;
      },
      WatchOn::kLogEnd);
  auto l = log->watch(
      3, [&](WatchFired) { ++later; }, PartitionLog::WatchOn::kHighWatermark);
  append(*log, fresh_batch(2, 100));
  EXPECT_EQ(follower, 1);
  EXPECT_EQ(follower_why, WatchFired::kAppend);
  EXPECT_EQ(consumer, 0);
  log->set_high_watermark(1);
  EXPECT_EQ(consumer, 1);
  EXPECT_EQ(consumer_why, WatchFired::kOther);  // set_high_watermark runs under callers' locks
  EXPECT_EQ(later, 0);
  append(*log, fresh_batch(2, 100));
  log->set_high_watermark(3);  // not past 3
  EXPECT_EQ(later, 0);
  log->set_high_watermark(4);
  EXPECT_EQ(later, 1);
  // Already passed: right away, from the registration.
  int now = 0;
  WatchFired now_why = WatchFired::kAppend;
  log->watch(2, [&](WatchFired why) {
    ++now;
    now_why = why;
  });
  EXPECT_EQ(now, 1);
  EXPECT_EQ(now_why, WatchFired::kOther);
  // A follower's watch fires on append_replica too.
  follower_why = WatchFired::kOther;
  auto f2 = log->watch(
      4,
      [&](WatchFired why) {
        ++follower;
        follower_why = why;
      },
      WatchOn::kLogEnd);
  batch::Builder nb(4);
  nb.add("k", "v", 1);
  replicate(*log, nb.build());
  EXPECT_EQ(follower, 2);
  EXPECT_EQ(follower_why, WatchFired::kAppend);
  EXPECT_EQ(log->high_watermark(), 4);
}

TEST_P(ReplicationLogTest, WithoutReplicationConsumerWatchesFireOnAppend) {
  auto log = open_log(false);
  int fired = 0;
  auto w = log->watch(0, [&](WatchFired) { ++fired; });
  append(*log, fresh_batch(1, 100));
  EXPECT_EQ(fired, 1);
}

// ------------------------------------------------------- append_replica

TEST_P(ReplicationLogTest, ReplicaIsByteIdenticalWithOffsetsEpochsAndProducersKept) {
  options_.segment_bytes = 700;  // rolls: the copy rolls too
  auto leader = open_log(false, "leader");
  auto follower = open_log(true, "follower");
  int32_t seq = 0;
  for (int i = 0; i < 12; ++i) {
    const int32_t epoch = i < 4 ? 1 : i < 9 ? 3 : 4;
    append(*leader, fresh_batch(1 + i % 3, 1000 + i, "r" + std::to_string(i)), epoch);
    const std::string idem = idempotent_batch(42, seq, 2, now_ + i);
    ASSERT_EQ(append(*leader, idem, epoch).idempotence, Verdict::kAppend);
    seq += 2;
  }
  ASSERT_GT(leader->segment_count(), 2u);
  copy(*leader, *follower);

  EXPECT_EQ(follower->log_end_offset(), leader->log_end_offset());
  EXPECT_EQ(all_bytes(*follower), all_bytes(*leader));
  EXPECT_EQ(follower->leader_epochs().entries(), leader->leader_epochs().entries());
  EXPECT_EQ(follower->leader_epochs().entries().size(), 3u);
  EXPECT_GT(follower->segment_count(), 1u);
  EXPECT_EQ(follower->high_watermark(), 0);  // replicated: only set_high_watermark moves it
  EXPECT_EQ(follower->max_producer_id(), 42);
  EXPECT_EQ(follower->producer_count(), 1u);
  // The follower, now leader, answers the producer's retry of its last
  // batch with the original offsets, and takes the next sequence.
  const std::string retry = idempotent_batch(42, seq - 2, 2, now_ + 11);
  const AppendResult original = append(*leader, retry, 4);
  ASSERT_EQ(original.idempotence, Verdict::kDuplicate);
  const AppendResult again = append(*follower, retry, 5);
  EXPECT_EQ(again.idempotence, Verdict::kDuplicate);
  EXPECT_EQ(again.base_offset, original.base_offset);
  EXPECT_EQ(append(*follower, idempotent_batch(42, seq, 1, now_), 5).idempotence, Verdict::kAppend);

  // Reopened, the copy still holds the same bytes.
  const std::string copied = all_bytes(*follower);
  follower->close();
  follower = open_log(true, "follower", false, 0);
  EXPECT_EQ(all_bytes(*follower), copied);
}

TEST_P(ReplicationLogTest, ReplicaRefusesGapsOverlapsAndBadCrcsWritingNothing) {
  auto leader = open_log(false, "leader");
  auto follower = open_log(true, "follower");
  for (int i = 0; i < 3; ++i) append(*leader, fresh_batch(2, 100 + i));
  copy(*leader, *follower);
  const int64_t size = follower->size_bytes();
  const auto at = [](int64_t base) {
    batch::Builder b(base);
    b.add("k", "v", 1);
    b.add("k", "w", 2);
    return b.build();
  };
  for (int64_t base : {int64_t{7}, int64_t{4}, int64_t{0}}) {
    const keel::Error e = error_of([&] { replicate(*follower, at(base)); });
    EXPECT_EQ(e.code(), KEEL_ERR_INVALID_ARGUMENT) << base;
    EXPECT_THAT(e.what(), HasSubstr("orders-3"));
    EXPECT_THAT(e.what(), HasSubstr("start at offset " + std::to_string(base)));
    EXPECT_THAT(e.what(), HasSubstr("log ends at offset 6"));
  }
  // Not contiguous inside one buffer: nothing of it goes in.
  const keel::Error inner = error_of([&] { replicate(*follower, at(6) + at(9)); });
  EXPECT_EQ(inner.code(), KEEL_ERR_INVALID_ARGUMENT);
  EXPECT_THAT(inner.what(), HasSubstr("starts at offset 9"));
  // A flipped byte in the records: the CRC says so.
  std::string bad = at(6);
  bad[bad.size() - 2] ^= 0x40;
  EXPECT_EQ(error_of([&] { replicate(*follower, bad); }).code(), KEEL_ERR_CORRUPT);
  EXPECT_EQ(error_of([&] { replicate(*follower, at(6) + bad.substr(0, 30)); }).code(), KEEL_ERR_CORRUPT);
  EXPECT_EQ(follower->log_end_offset(), 6);
  EXPECT_EQ(follower->size_bytes(), size);
  // Nothing fetched: nothing happens.
  EXPECT_EQ(follower->append_replica(nullptr, 0).batches, 0);
  EXPECT_EQ(replicate(*follower, at(6)).base_offset, 6);
  EXPECT_EQ(follower->log_end_offset(), 8);
}

// ------------------------------------------------------------ truncate_to

TEST_P(ReplicationLogTest, TruncateInTheActiveSegmentThenAppendAndReopen) {
  auto log = open_log(false);
  for (int i = 0; i < 5; ++i) append(*log, fresh_batch(2, 100 + i, "a" + std::to_string(i)));
  ASSERT_EQ(log->log_end_offset(), 10);
  log->flush();
  EXPECT_EQ(log->flushed_offset(), 10);
  EXPECT_EQ(log->truncate_to(6, "diverged"), 4);
  EXPECT_EQ(log->log_end_offset(), 6);
  EXPECT_EQ(log->flushed_offset(), 6);
  EXPECT_EQ(log->segment_count(), 1u);
  EXPECT_EQ(batch_ranges(*log), (std::vector<std::pair<int64_t, int64_t>>{{0, 1}, {2, 3}, {4, 5}}));
  EXPECT_EQ(log->read(6, 100).length, 0);
  EXPECT_EQ(error_of([&] { log->read(7, 100); }).code(), KEEL_ERR_OUT_OF_RANGE);
  EXPECT_EQ(append(*log, fresh_batch(3, 200, "b")).base_offset, 6);
  EXPECT_EQ(log->log_end_offset(), 9);
  const std::string kept = all_bytes(*log);
  // Unclean, with the broker's checkpoint still naming the old end: the
  // cut offsets are not taken for lost ones.
  log.reset();  // no close: as a crash
  log = open_log(false, "orders-3", false, 10);
  EXPECT_EQ(log->log_end_offset(), 9);
  EXPECT_TRUE(log->damaged_ranges().empty());
  EXPECT_EQ(all_bytes(*log), kept);
  const std::string got = read_bytes(log->read(6, 1 << 20));
  EXPECT_EQ(batch::decode(bytes(got), got.size()).at(0).value, "b-0");
}

TEST_P(ReplicationLogTest, TruncateRightAfterItReturnsSurvivesACrashWithAStaleCheckpoint) {
  auto log = open_log(false);
  for (int i = 0; i < 5; ++i) append(*log, fresh_batch(2, 100 + i));
  log->flush();
  log->truncate_to(4, "diverged");
  log.reset();
  log = open_log(false, "orders-3", false, 10);
  EXPECT_EQ(log->log_end_offset(), 4);
  EXPECT_TRUE(log->damaged_ranges().empty());
  EXPECT_EQ(append(*log, fresh_batch(1, 1)).base_offset, 4);
  // A checkpoint at or below the mark: the mark is no longer needed.
  log->close();
  EXPECT_TRUE(files().contains("truncated-to"));
  log = open_log(false, "orders-3", false, 4);
  EXPECT_FALSE(files().contains("truncated-to"));
  EXPECT_EQ(log->log_end_offset(), 5);
}

TEST_P(ReplicationLogTest, TruncateAcrossSegmentsDeletesTheSegmentsAbove) {
  options_.segment_bytes = 1;  // one batch per segment: bases 0, 2, 4, 6, 8, 10
  auto log = open_log(false);
  for (int i = 0; i < 6; ++i) append(*log, fresh_batch(2, 100 + i));
  ASSERT_EQ(log->segment_count(), 6u);
  // 6 is a segment's base: that segment stays, empty and active.
  EXPECT_EQ(log->truncate_to(6, "diverged"), 6);
  EXPECT_EQ(log->log_end_offset(), 6);
  EXPECT_EQ(log->segment_count(), 4u);
  EXPECT_EQ(log_files(), (std::set<std::string>{"00000000000000000000.log", "00000000000000000002.log",
                                                "00000000000000000004.log", "00000000000000000006.log"}));
  const auto infos = log->segment_infos();
  EXPECT_EQ(infos.back().base_offset, 6);
  EXPECT_EQ(infos.back().size_bytes, 0);
  // Into the middle of a closed segment's batch: the batch goes whole.
  EXPECT_EQ(log->truncate_to(3, "diverged"), 4);
  EXPECT_EQ(log->log_end_offset(), 2);
  EXPECT_EQ(log->segment_count(), 2u);
  EXPECT_EQ(log_files(), (std::set<std::string>{"00000000000000000000.log", "00000000000000000002.log"}));
  EXPECT_EQ(append(*log, fresh_batch(2, 300, "again")).base_offset, 2);
  EXPECT_EQ(append(*log, fresh_batch(2, 300, "again")).base_offset, 4);
  const std::string kept = all_bytes(*log);
  log->close();
  log = open_log(false, "orders-3", false, 12);
  EXPECT_EQ(log->log_end_offset(), 6);
  EXPECT_TRUE(log->damaged_ranges().empty());
  EXPECT_EQ(all_bytes(*log), kept);
}

TEST_P(ReplicationLogTest, TruncateInsideAClosedSegmentKeepsItClosedAndStartsANewOne) {
  const std::string b = fresh_batch(2, 100);
  options_.segment_bytes = static_cast<int64_t>(3 * b.size());  // three batches per segment
  auto log = open_log(false);
  for (int i = 0; i < 7; ++i) append(*log, fresh_batch(2, 100 + i));  // segments 0 (0..5), 6 (6..11), 12
  ASSERT_EQ(log->segment_count(), 3u);
  EXPECT_EQ(log->truncate_to(8, "diverged"), 6);
  EXPECT_EQ(log->segment_count(), 3u);  // 0, 6 (cut to 6..7), new active 8
  const auto infos = log->segment_infos();
  EXPECT_EQ(infos[1].base_offset, 6);
  EXPECT_EQ(infos[1].next_offset, 8);
  EXPECT_EQ(infos[1].size_bytes, static_cast<int64_t>(b.size()));
  EXPECT_EQ(infos[2].base_offset, 8);
  EXPECT_EQ(log_files(), (std::set<std::string>{"00000000000000000000.log", "00000000000000000006.log",
                                                "00000000000000000008.log"}));
  // Reads through the cut segment's indexes find every kept batch.
  for (int64_t off = 0; off < 8; ++off) {
    const std::string got = read_bytes(log->read(off, 1));
    auto h = batch::parse_header(bytes(got), got.size());
    ASSERT_TRUE(h) << off;
    EXPECT_EQ(h->base_offset, off - off % 2);
  }
  EXPECT_EQ(log->find_time(106).first, -1);  // the cut batches' timestamps are gone
  EXPECT_EQ(append(*log, fresh_batch(2, 500)).base_offset, 8);
  EXPECT_EQ(log->find_time(500).first, 8);
  log->close();
  log = open_log(false, "orders-3", false, 14);
  EXPECT_EQ(log->log_end_offset(), 10);
  EXPECT_TRUE(log->damaged_ranges().empty());
}

TEST_P(ReplicationLogTest, TruncateToTheActiveSegmentsBaseKeepsItEmpty) {
  options_.segment_bytes = 1;
  auto log = open_log(false);
  for (int i = 0; i < 3; ++i) append(*log, fresh_batch(2, 100 + i));
  EXPECT_EQ(log->truncate_to(4, "diverged"), 2);
  EXPECT_EQ(log->segment_count(), 3u);
  EXPECT_EQ(log->segment_infos().back().base_offset, 4);
  EXPECT_EQ(log->segment_infos().back().size_bytes, 0);
  // All the way to the start: one empty segment stays.
  EXPECT_EQ(log->truncate_to(0, "diverged"), 4);
  EXPECT_EQ(log->segment_count(), 1u);
  EXPECT_EQ(log->log_end_offset(), 0);
  EXPECT_EQ(log_files(), (std::set<std::string>{"00000000000000000000.log"}));
  EXPECT_EQ(append(*log, fresh_batch(1, 1)).base_offset, 0);
  EXPECT_EQ(log->truncate_to(1, "nothing to cut"), 0);
}

TEST_P(ReplicationLogTest, TruncateRefusesOffsetsOutsideTheLog) {
  auto log = open_log(false);
  for (int i = 0; i < 4; ++i) append(*log, fresh_batch(2, 100 + i));
  log->delete_records(4);
  for (int64_t bad : {int64_t{3}, int64_t{9}, int64_t{-1}}) {
    const keel::Error e = error_of([&] { log->truncate_to(bad, "test"); });
    EXPECT_EQ(e.code(), KEEL_ERR_OUT_OF_RANGE) << bad;
    EXPECT_THAT(e.what(), HasSubstr("orders-3"));
    EXPECT_THAT(e.what(), HasSubstr("[4, 8]"));
  }
  EXPECT_EQ(log->log_end_offset(), 8);
  EXPECT_EQ(log->truncate_to(4, "test"), 4);
  EXPECT_EQ(log->log_start_offset(), 4);
  EXPECT_EQ(log->log_end_offset(), 4);
}

TEST_P(ReplicationLogTest, TruncateClampsTheHighWatermark) {
  auto log = open_log(true);
  for (int i = 0; i < 4; ++i) append(*log, fresh_batch(2, 100 + i));
  log->set_high_watermark(6);
  log->truncate_to(4, "diverged");
  EXPECT_EQ(log->high_watermark(), 4);
  append(*log, fresh_batch(2, 1));
  EXPECT_EQ(log->high_watermark(), 4);
  log->truncate_to(6, "diverged");
  EXPECT_EQ(log->high_watermark(), 4);  // below the new end: stays
}

TEST_P(ReplicationLogTest, TruncateForgetsTheSequencesOfCutBatches) {
  options_.segment_bytes = 1;  // a roll, and a producer snapshot, after every batch
  auto log = open_log(false);
  for (int32_t seq = 0; seq < 12; seq += 3) {
    ASSERT_EQ(append(*log, idempotent_batch(7, seq, 3, now_ + seq)).idempotence, Verdict::kAppend);
  }
  ASSERT_EQ(log->log_end_offset(), 12);
  // The last roll's snapshot is written with the sync of the segment it
  // follows (the flusher's), never before.
  EXPECT_FALSE(files().contains("00000000000000000009.snapshot"));
  log->sync_sealed();
  // Snapshots past the cut describe batches that are gone.
  EXPECT_TRUE(files().contains("00000000000000000009.snapshot"));
  EXPECT_EQ(log->truncate_to(6, "diverged"), 6);
  EXPECT_FALSE(files().contains("00000000000000000009.snapshot"));
  // Sequence 6 was cut: it is new again, not a duplicate; 3 is still one.
  const AppendResult dup = append(*log, idempotent_batch(7, 3, 3, now_ + 3));
  EXPECT_EQ(dup.idempotence, Verdict::kDuplicate);
  EXPECT_EQ(dup.base_offset, 3);
  EXPECT_EQ(append(*log, idempotent_batch(7, 9, 3, now_ + 9)).idempotence, Verdict::kOutOfOrder);
  const AppendResult again = append(*log, idempotent_batch(7, 6, 3, now_ + 6));
  EXPECT_EQ(again.idempotence, Verdict::kAppend);
  EXPECT_EQ(again.base_offset, 6);
  // All the way back: the producer is unknown, sequence 0 starts it over.
  log->truncate_to(0, "diverged");
  EXPECT_EQ(log->producer_count(), 0u);
  EXPECT_EQ(append(*log, idempotent_batch(7, 0, 3, now_)).idempotence, Verdict::kAppend);
  log->close();
  log = open_log(false, "orders-3", false, 12);
  EXPECT_EQ(append(*log, idempotent_batch(7, 0, 3, now_)).idempotence, Verdict::kDuplicate);
  EXPECT_EQ(append(*log, idempotent_batch(7, 3, 3, now_ + 3)).idempotence, Verdict::kAppend);
}

TEST_P(ReplicationLogTest, ADiscardedLogWritesNoSnapshotAfterItsClose) {
  options_.segment_bytes = 1;  // a roll after every batch
  auto log = open_log(false);
  for (int32_t seq = 0; seq < 6; seq += 3) {
    ASSERT_EQ(append(*log, idempotent_batch(7, seq, 3, now_ + seq)).idempotence, Verdict::kAppend);
  }
  ASSERT_TRUE(log->segment_awaiting_sync());
  // The topic is deleted: its directory is about to be removed, or taken by
  // a new topic of the same name. The flusher's queued sync comes after.
  log->close(PartitionLog::Closing::Discard);
  log->sync_sealed();
  EXPECT_FALSE(files().contains("00000000000000000003.snapshot"));
}

TEST_P(ReplicationLogTest, TruncateDropsARollsSnapshotNotYetWritten) {
  // Two batches of 3 records per segment: rolls at 6 and 12.
  const int64_t batch = static_cast<int64_t>(idempotent_batch(7, 0, 3, now_).size());
  options_.segment_bytes = batch * 5 / 2;
  auto log = open_log(false);
  for (int32_t seq = 0; seq < 15; seq += 3) {
    ASSERT_EQ(append(*log, idempotent_batch(7, seq, 3, now_ + seq)).idempotence, Verdict::kAppend);
  }
  ASSERT_EQ(log->segment_count(), 3u);
  // The roll at 12 waited for the sync of [0, 6), which wrote the snapshot
  // at 6; its own snapshot waits for the sync of [6, 12).
  EXPECT_TRUE(files().contains("00000000000000000006.snapshot"));
  EXPECT_FALSE(files().contains("00000000000000000012.snapshot"));
  // Cut inside the segment still waiting: the snapshot at 12 would describe
  // batches that are gone, and must not be written by that sync.
  EXPECT_EQ(log->truncate_to(9, "diverged"), 6);
  ASSERT_TRUE(log->segment_awaiting_sync());
  log->sync_sealed();
  EXPECT_FALSE(log->segment_awaiting_sync());
  EXPECT_FALSE(files().contains("00000000000000000012.snapshot"));
  EXPECT_EQ(append(*log, idempotent_batch(7, 9, 3, now_ + 9)).idempotence, Verdict::kAppend);
}

TEST_P(ReplicationLogTest, TruncateCutsTheLeaderEpochCache) {
  auto log = open_log(false);
  append(*log, fresh_batch(2, 1), 1);
  append(*log, fresh_batch(2, 2), 2);
  append(*log, fresh_batch(2, 3), 3);
  using E = keel::EpochEntry;
  ASSERT_EQ(log->leader_epochs().entries(), (std::vector<E>{{1, 0}, {2, 2}, {3, 4}}));
  log->truncate_to(4, "diverged");
  EXPECT_EQ(log->leader_epochs().entries(), (std::vector<E>{{1, 0}, {2, 2}}));
  EXPECT_EQ(log->end_offset_for_epoch(2, -1), (keel::EpochEndOffset{2, 4}));
  log->truncate_to(3, "diverged");  // inside epoch 2's batch: it goes whole
  EXPECT_EQ(log->log_end_offset(), 2);
  EXPECT_EQ(log->leader_epochs().entries(), (std::vector<E>{{1, 0}}));
  // A new epoch starts at the new end; the checkpoint holds across a crash.
  append(*log, fresh_batch(1, 4), 5);
  log.reset();
  log = open_log(false, "orders-3", false, 6);
  EXPECT_EQ(log->leader_epochs().entries(), (std::vector<E>{{1, 0}, {5, 2}}));
}

TEST_P(ReplicationLogTest, TruncateThenCopyAgainMatchesTheLeader) {
  // The follower's divergent tail (another leader's epoch) is cut and the
  // leader's batches copied over it: byte-identical again.
  options_.segment_bytes = 500;
  auto leader = open_log(false, "leader");
  auto follower = open_log(true, "follower");
  for (int i = 0; i < 6; ++i) append(*leader, fresh_batch(2, 100 + i), 1);
  copy(*leader, *follower);
  for (int i = 0; i < 4; ++i) append(*follower, fresh_batch(1, 900 + i, "stale"), 2);
  for (int i = 0; i < 5; ++i) append(*leader, fresh_batch(3, 200 + i), 3);
  const keel::EpochEndOffset diverge = leader->end_offset_for_epoch(2, -1);
  EXPECT_EQ(diverge.epoch, 1);
  EXPECT_EQ(diverge.end_offset, 12);
  EXPECT_EQ(follower->truncate_to(diverge.end_offset, "diverged from the leader at epoch 2"), 4);
  copy(*leader, *follower);
  EXPECT_EQ(all_bytes(*follower), all_bytes(*leader));
  EXPECT_EQ(follower->leader_epochs().entries(), leader->leader_epochs().entries());
}

// --------------------------------------------------------------- reset_to

class ResetTest : public ReplicationLogTest {
 protected:
  // A leader whose log starts at 20 (DeleteRecords) and ends at 30: batches
  // of two records, epoch 1 up to offset 10, epoch 2 after; producer 9 in
  // each.
  std::unique_ptr<PartitionLog> leader_at_20() {
    auto leader = open_log(false, "leader");
    origin_ = open_log(false, "origin");
    for (int i = 0; i < 15; ++i) {
      const std::string b = idempotent_batch(9, 2 * i, 2, now_ + i);
      EXPECT_EQ(append(*leader, b, i < 5 ? 1 : 2).idempotence, Verdict::kAppend);
      append(*origin_, b, i < 5 ? 1 : 2);
    }
    EXPECT_EQ(leader->delete_records(20), 20);
    return leader;
  }
  // A follower holding the leader's first 8 offsets (copied from `origin_`,
  // the leader's log before DeleteRecords) in 4 segments, one batch each,
  // with a producer snapshot at each roll.
  std::unique_ptr<PartitionLog> stale_follower(const std::string& name = "follower") {
    options_.segment_bytes = 1;
    auto follower = open_log(true, name);
    while (follower->log_end_offset() < 8) {
      replicate(*follower, read_bytes(origin_->read_to_end(follower->log_end_offset(), 1)));
    }
    follower->set_high_watermark(6);
    options_.segment_bytes = LogOptions{}.segment_bytes;
    EXPECT_EQ(follower->segment_count(), 4u);
    EXPECT_EQ(follower->producer_count(), 1u);
    EXPECT_FALSE(snapshots(name).empty());
    return follower;
  }
  std::set<std::string> snapshots(const std::string& name = "follower") {
    std::set<std::string> out;
    for (const auto& f : files(name)) {
      if (f.ends_with(".snapshot")) out.insert(f);
    }
    return out;
  }
  // The leader's batches from `offset` on, as a fetcher reads them.
  static std::string bytes_from(const PartitionLog& log, int64_t offset) {
    std::string out;
    while (offset < log.log_end_offset()) {
      const ReadResult r = log.read_to_end(offset, 1 << 20);
      const std::string got = read_bytes(r);
      if (got.empty()) break;
      out += got;
      offset = batch_ranges_of(got).back().second + 1;
    }
    return out;
  }
  static std::vector<std::pair<int64_t, int64_t>> batch_ranges_of(const std::string& data) {
    std::vector<std::pair<int64_t, int64_t>> out;
    for (size_t pos = 0; pos < data.size();) {
      auto h = *batch::parse_header(bytes(data) + pos, data.size() - pos);
      out.emplace_back(h.base_offset, h.last_offset());
      pos += h.total_size();
    }
    return out;
  }
  // The state reset_to(20) leaves, in memory and on disk.
  void expect_reset_at_20(const PartitionLog& log, const std::string& name = "follower") {
    EXPECT_EQ(log.log_start_offset(), 20);
    EXPECT_EQ(log.log_end_offset(), 20);
    EXPECT_EQ(log.high_watermark(), 20);
    EXPECT_EQ(log.flushed_offset(), 20);
    EXPECT_EQ(log.segment_count(), 1u);
    EXPECT_EQ(log.size_bytes(), 0);
    EXPECT_TRUE(log.leader_epochs().entries().empty());
    EXPECT_EQ(log.producer_count(), 0u);
    EXPECT_TRUE(log.damaged_ranges().empty());
    EXPECT_EQ(log_files(name), (std::set<std::string>{"00000000000000000020.log"}));
    // None from before: a clean close writes one at 20.
    for (const auto& f : snapshots(name)) EXPECT_GE(f, "00000000000000000020.snapshot");
    EXPECT_FALSE(files(name).contains("reset-to"));
    std::ifstream in(dir_.sub(name) + "/log-start-offset");
    const std::string start((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(start, "0\n20\n");
    EXPECT_EQ(error_of([&] { log.read_to_end(8, 100); }).code(), KEEL_ERR_OUT_OF_RANGE);
  }
  // Fetches the rest from the leader: the copy matches it from its start on.
  void expect_catches_up(const PartitionLog& leader, PartitionLog& follower) {
    copy(leader, follower);
    EXPECT_EQ(follower.log_end_offset(), 30);
    EXPECT_EQ(bytes_from(follower, 20), bytes_from(leader, 20));
    EXPECT_EQ(follower.leader_epochs().entries(), leader.leader_epochs().entries());
    EXPECT_EQ(follower.producer_count(), 1u);
  }

  std::unique_ptr<PartitionLog> origin_;
};

TEST_P(ResetTest, ResetPastTheEndStartsAnEmptyLogThereThatTakesTheLeadersBatches) {
  auto leader = leader_at_20();
  ASSERT_EQ(leader->leader_epochs().entries(), (std::vector<keel::EpochEntry>{{2, 20}}));
  auto follower = stale_follower();
  // A reader holding the old data keeps it; a watch on the end fires.
  ReadResult held = follower->read_to_end(0, 1 << 20);
  const std::string held_bytes = read_bytes(held);
  int woken = 0;
  WatchFired woken_why = WatchFired::kAppend;
  auto w = follower->watch(
      8,
      [&](WatchFired why) {
        ++woken;
        woken_why = why;
      },
      WatchOn::kLogEnd);
  EXPECT_EQ(follower->reset_to(20, "behind the leader's log start"), 8);
  EXPECT_EQ(woken, 1);
  EXPECT_EQ(woken_why, WatchFired::kOther);
  EXPECT_EQ(read_bytes(held), held_bytes);
  EXPECT_TRUE(files("follower").contains("00000000000000000000.log.deleted"));
  held = {};  // the last user lets go: the renamed files go
  expect_reset_at_20(*follower);
  // The leader's batch at 20 goes in where the log now ends.
  EXPECT_EQ(replicate(*follower, read_bytes(leader->read_to_end(20, 1))).base_offset, 20);
  EXPECT_EQ(follower->leader_epochs().entries(), (std::vector<keel::EpochEntry>{{2, 20}}));
  expect_catches_up(*leader, *follower);
  follower->set_high_watermark(30);
  EXPECT_EQ(follower->high_watermark(), 30);

  EXPECT_EQ(error_of([&] { follower->reset_to(-1, "test"); }).code(), KEEL_ERR_INVALID_ARGUMENT);
  follower->close();
  EXPECT_EQ(error_of([&] { follower->reset_to(40, "test"); }).code(), KEEL_ERR_UNAVAILABLE);
}

TEST_P(ResetTest, ResetHoldsAcrossCleanAndUncleanRestarts) {
  auto leader = leader_at_20();
  auto follower = stale_follower();
  follower->reset_to(20, "test");
  follower->close();
  follower = open_log(true, "follower");
  expect_reset_at_20(*follower);
  follower.reset();
  // Unclean, with the broker's recovery checkpoint still at the old end.
  follower = open_log(true, "follower", false, 8);
  expect_reset_at_20(*follower);
  follower.reset();
  auto again = stale_follower("crashed");
  again->reset_to(20, "test");
  again.reset();  // no close: as a crash right after reset_to returned
  again = open_log(true, "crashed", false, 8);
  expect_reset_at_20(*again, "crashed");
  expect_catches_up(*leader, *again);
}

TEST_P(ResetTest, ACrashAtAnyStepOfAResetNeverBringsTheOldSegmentsBack) {
  auto leader = leader_at_20();
  for (const char* step :
       {"reset-marked", "reset-segments-removed", "reset-start-saved", "reset-segment-created"}) {
    SCOPED_TRACE(step);
    auto follower = stale_follower(step);
    bool hit = false;
    follower->set_rewrite_failpoint([&](const char* at) {
      if (std::string(at) == step) {
        hit = true;
        throw keel::RewriteCrash();
      }
    });
    // A reader holding an old segment across the "crash" keeps its renamed
    // files on disk, as a crashed process would leave them.
    const ReadResult held = follower->read_to_end(0, 1 << 20);
    EXPECT_THROW(follower->reset_to(20, "test"), keel::RewriteCrash);
    ASSERT_TRUE(hit);
    follower.reset();  // no close(): the process "died"
    EXPECT_TRUE(files(step).contains("reset-to"));
    follower = open_log(true, step, false, 8);
    expect_reset_at_20(*follower, step);
    expect_catches_up(*leader, *follower);
    // And the next start opens what was copied since.
    const std::string copied = bytes_from(*follower, 20);
    follower.reset();
    follower = open_log(true, step, false, 20);
    EXPECT_EQ(follower->log_start_offset(), 20);
    EXPECT_EQ(bytes_from(*follower, 20), copied);
  }
}

TEST_P(ResetTest, AnExplicitResetBelowTheEndDiscardsTheLogEvenAfterACrash) {
  auto leader = leader_at_20();
  auto follower = stale_follower();
  follower->flush();
  EXPECT_EQ(follower->reset_to(4, "asked"), 8);
  EXPECT_EQ(follower->log_start_offset(), 4);
  EXPECT_EQ(follower->log_end_offset(), 4);
  EXPECT_EQ(log_files("follower"), (std::set<std::string>{"00000000000000000004.log"}));
  follower.reset();
  // The broker's checkpoint still names 8: the offsets from 4 on are not
  // taken for lost ones.
  follower = open_log(true, "follower", false, 8);
  EXPECT_EQ(follower->log_start_offset(), 4);
  EXPECT_EQ(follower->log_end_offset(), 4);
  EXPECT_TRUE(follower->damaged_ranges().empty());
  batch::Builder next(4);
  next.add("k", "v", 1);
  EXPECT_EQ(replicate(*follower, next.build()).base_offset, 4);
}

INSTANTIATE_TEST_SUITE_P(Indexes, ResetTest, ::testing::Bool(), [](const ::testing::TestParamInfo<bool>& p) {
  return p.param ? "WithIndexes" : "NoIndex";
});

// ------------------------------------------------- high watermark checkpoint

TEST_P(ReplicationLogTest, HighWatermarkCheckpointSurvivesCloseAndReopen) {
  auto log = open_log(true);
  for (int i = 0; i < 4; ++i) append(*log, fresh_batch(2, 100 + i));
  log->set_high_watermark(6);
  log->checkpoint_high_watermark();
  {
    std::ifstream in(dir_.sub("orders-3") + "/high-watermark");
    std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(content, "0\n6\n");
  }
  // Unchanged since the last write: not written again.
  fs::remove(dir_.sub("orders-3") + "/high-watermark");
  log->checkpoint_high_watermark();
  EXPECT_FALSE(files().contains("high-watermark"));
  log->set_high_watermark(4);
  log->close();  // a clean close writes it
  log = open_log(true);
  EXPECT_EQ(log->high_watermark(), 4);
  EXPECT_EQ(log->log_end_offset(), 8);
  // A checkpoint past the end (a log cut since) is clamped to the end.
  log->close();
  {
    std::ofstream out(dir_.sub("orders-3") + "/high-watermark", std::ios::trunc);
    out << "0\n100\n";
  }
  log = open_log(true);
  EXPECT_EQ(log->high_watermark(), 8);
  // Without a checkpoint: the log start, until the leader says more.
  log->close();
  fs::remove(dir_.sub("orders-3") + "/high-watermark");
  log = open_log(true);
  EXPECT_EQ(log->high_watermark(), 0);
  // Not replicated: the log end, whatever the file says.
  log->set_high_watermark(2);
  log->close();
  log = open_log(false);
  EXPECT_EQ(log->high_watermark(), 8);
}

INSTANTIATE_TEST_SUITE_P(Indexes, ReplicationLogTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& p) {
                           return p.param ? "WithIndexes" : "NoIndex";
                         });

}  // namespace
