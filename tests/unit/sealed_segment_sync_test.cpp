// A roll does not fdatasync the segment it seals (that held every append of
// the partition for a whole segment's sync): the flusher syncs it in the
// background (PartitionLog::sync_sealed, Flusher::rolled), and the flushed
// offset never passes it before. After an unclean stop, a closed segment
// may therefore have lost its unsynced tail while the active one kept
// data: recovery cuts it there and drops the active one, past the recovery
// point only and only in the segment before the active one (a roll syncs
// an older sealed segment still waiting first). Each test runs with no index and with the built-in
// indexes.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "storage/flusher.hpp"
#include "storage/partition_log.hpp"
#include "support/log_file_fixture.hpp"

namespace {

namespace fs = std::filesystem;
using keel::FlushMode;
using keel::FlushPolicy;
using keel::PartitionLog;
using keel::Segment;
using keel::test::make_batch;

// Every batch the tests write has the same size: two records, a 2-byte tag.
const int64_t kStoredBatchBytes = static_cast<int64_t>(make_batch(2, "t0").size());
// Three batches fill a segment; the fourth rolls.
const int64_t kSegmentBytes = 3 * kStoredBatchBytes;

class SealedSegmentSyncTest : public keel::test::LogFileFixture {
 protected:
  SealedSegmentSyncTest() : LogFileFixture("keel-sealed-sync") {}
  void SetUp() override {
    LogFileFixture::SetUp();
    options_.segment_bytes = kSegmentBytes;
  }
  std::string segment_path(int64_t base) const { return dir() + "/" + Segment::file_name(base) + ".log"; }
  // Nine batches in segments at 0, 6 and 12 (offsets 0..17), left as a
  // SIGKILL leaves them: no close.
  void write_three_segments() {
    auto log = open_log();
    for (int i = 0; i < 9; ++i) append_one(*log, "t" + std::to_string(i));
    ASSERT_EQ(log->segment_infos().size(), 3u);
    ASSERT_EQ(log->log_end_offset(), 18);
  }
  // What a power cut does to a closed segment whose roll's sync had not
  // run: its second batch (offsets 8, 9) is torn after 20 bytes, and the
  // rest of the file reads as zeros, as a preallocated file's hole does.
  void lose_tail_of_middle_segment() {
    const std::string path = segment_path(6);
    ASSERT_EQ(::truncate(path.c_str(), kStoredBatchBytes + 20), 0);
    ASSERT_EQ(::truncate(path.c_str(), kSegmentBytes), 0);
  }
  void forget_written_from(int64_t offset) {
    std::erase_if(written_, [&](const auto& w) { return w.first >= offset; });
  }
  // After a lost tail of the segment at 6: the log ends at `end`, no file
  // of the last segment (at 12) is left, nothing reads as damage (a lost
  // write past the recovery point is not damage), the log goes on at `end`
  // in a new active segment, and a clean restart reads the same.
  void expect_log_goes_on_at(std::unique_ptr<PartitionLog> log, int64_t end) {
    EXPECT_EQ(log->log_end_offset(), end) << "the log ends after the last whole batch of the cut segment";
    for (const auto& entry : fs::directory_iterator(dir())) {
      EXPECT_FALSE(entry.path().filename().string().starts_with(Segment::file_name(12)))
          << "a segment after the lost tail held only unsynced writes; left behind: " << entry.path();
    }
    forget_written_from(end);
    expect_all_readable(*log);
    append_one(*log, "n0");
    EXPECT_EQ(written_.back().first, end);
    EXPECT_EQ(log->segment_infos().back().base_offset, end);
    expect_all_readable(*log);
    EXPECT_EQ(log->flush(), end + 2);
    log->close();
    log.reset();
    auto again = open_log(true, end + 2);
    EXPECT_EQ(again->log_end_offset(), end + 2);
    expect_all_readable(*again);
  }
  static bool wait_for(const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::yield();
    }
    return true;
  }
};

TEST_P(SealedSegmentSyncTest, ARollLeavesTheFlushedOffsetBelowTheSegmentItSealsUntilItsSync) {
  auto log = open_log();
  append_one(*log, "t0");
  append_one(*log, "t1");
  EXPECT_EQ(log->flush(), 4);
  append_one(*log, "t2");  // offsets 4, 5: not synced
  EXPECT_FALSE(log->claim_sealed_sync()) << "no roll yet";
  append_one(*log, "t3");  // rolls: a new segment at 6
  ASSERT_EQ(log->segment_infos().size(), 2u);
  EXPECT_EQ(log->flushed_offset(), 4) << "the roll must not count the sealed segment as synced";
  EXPECT_TRUE(log->claim_sealed_sync());
  EXPECT_FALSE(log->claim_sealed_sync()) << "one claim per roll";
  log->sync_sealed();
  EXPECT_EQ(log->flushed_offset(), 6) << "synced up to the active segment, not into it";
  log->sync_sealed();
  EXPECT_EQ(log->flushed_offset(), 6);
  EXPECT_EQ(log->flush(), 8);
  expect_all_readable(*log);
}

TEST_P(SealedSegmentSyncTest, AFlushSyncsTheSealedSegmentWithTheActiveOne) {
  auto log = open_log();
  for (int i = 0; i < 4; ++i) append_one(*log, "t" + std::to_string(i));  // one roll
  ASSERT_EQ(log->segment_infos().size(), 2u);
  EXPECT_EQ(log->flushed_offset(), 0);
  EXPECT_TRUE(log->segment_awaiting_sync());
  EXPECT_EQ(log->flush(), 8);
  EXPECT_FALSE(log->segment_awaiting_sync()) << "the flush synced the sealed segment too";
  log->sync_sealed();
  EXPECT_EQ(log->flushed_offset(), 8);
}

TEST_P(SealedSegmentSyncTest, ARollSyncsTheSegmentStillWaitingBeforeSealingTheNext) {
  // Only the segment before the active one may ever be unsynced: recovery
  // looks for a lost tail there and nowhere else.
  auto log = open_log();
  for (int i = 0; i < 7; ++i) append_one(*log, "t" + std::to_string(i));  // two rolls, no flusher
  ASSERT_EQ(log->segment_infos().size(), 3u);
  EXPECT_EQ(log->flushed_offset(), 6) << "the second roll synced the first sealed segment";
  EXPECT_TRUE(log->segment_awaiting_sync()) << "only the one the second roll sealed waits";
  log->sync_sealed();
  EXPECT_EQ(log->flushed_offset(), 12);
}

TEST_P(SealedSegmentSyncTest, ACleanCloseSyncsTheSealedSegmentsAndTheNextStartTrustsThem) {
  {
    auto log = open_log();
    for (int i = 0; i < 7; ++i) append_one(*log, "t" + std::to_string(i));
    EXPECT_EQ(log->flushed_offset(), 6) << "the segment at 6 waits for its sync";
    log->close();
    EXPECT_FALSE(log->segment_awaiting_sync());
    EXPECT_EQ(log->flushed_offset(), 14);
  }
  auto log = open_log(true, 14);
  EXPECT_EQ(log->log_end_offset(), 14);
  expect_all_readable(*log);
}

TEST_P(SealedSegmentSyncTest, ALostTailOfAClosedSegmentEndsTheLogAndTheSegmentsAfterItGo) {
  write_three_segments();
  lose_tail_of_middle_segment();
  auto log = open_log(false, 6);
  EXPECT_EQ(fs::file_size(segment_path(6)), static_cast<uintmax_t>(kStoredBatchBytes)) << "cut to its data";
  expect_log_goes_on_at(std::move(log), 8);
}

TEST_P(SealedSegmentSyncTest, ALostTailIsLookedForOnlyInTheSegmentBeforeTheActiveOne) {
  write_three_segments();
  // The first segment cut short: its roll's sync ran before the second
  // roll, so this is damage to synced data, whatever the checkpoint says.
  ASSERT_EQ(::truncate(segment_path(0).c_str(), kStoredBatchBytes + 20), 0);
  auto log = open_log(false, 0);
  EXPECT_EQ(log->log_end_offset(), 18) << "the segments after it stay";
  EXPECT_TRUE(fs::exists(segment_path(6)));
  EXPECT_TRUE(fs::exists(segment_path(12)));
  const auto damage = log->damaged_ranges();
  ASSERT_FALSE(damage.empty());
  EXPECT_EQ(damage.front().first_offset, 2);
}

TEST_P(SealedSegmentSyncTest, ALostTailEndingOnABatchBoundaryEndsTheLogToo) {
  // The file system kept the size some writeback reached: whole batches,
  // nothing torn, and offsets missing before the last segment's base.
  write_three_segments();
  ASSERT_EQ(::truncate(segment_path(6).c_str(), kStoredBatchBytes), 0);
  expect_log_goes_on_at(open_log(false, 6), 8);
}

TEST_P(SealedSegmentSyncTest, ASealedSegmentThatLostEverythingEndsTheLogAtItsBase) {
  write_three_segments();
  ASSERT_EQ(::truncate(segment_path(6).c_str(), 0), 0);
  expect_log_goes_on_at(open_log(false, 6), 6);
}

TEST_P(SealedSegmentSyncTest, DamageWithBatchesAfterItInAClosedSegmentIsQuarantinedNotCut) {
  write_three_segments();
  // One flipped byte in the payload of the middle segment's middle batch:
  // a lost write leaves nothing readable behind it, this does.
  const std::string path = segment_path(6);
  const int fd = ::open(path.c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  char c = 0;
  const off_t at = kStoredBatchBytes + kStoredBatchBytes - 5;
  ASSERT_EQ(::pread(fd, &c, 1, at), 1);
  c = static_cast<char>(c ^ 0x5a);
  ASSERT_EQ(::pwrite(fd, &c, 1, at), 1);
  ::close(fd);

  auto log = open_log(false, 6);
  EXPECT_EQ(log->log_end_offset(), 18) << "the segments after the damage stay";
  EXPECT_TRUE(fs::exists(segment_path(12)));
  const auto damage = log->damaged_ranges();
  ASSERT_EQ(damage.size(), 1u);
  EXPECT_EQ(damage[0].first_offset, 8);
  EXPECT_EQ(damage[0].last_offset, 9);
}

TEST_P(SealedSegmentSyncTest, ALostTailBelowTheRecoveryPointIsReportedNotCut) {
  write_three_segments();
  lose_tail_of_middle_segment();
  // The checkpoint says everything was flushed: what is missing was
  // acknowledged, and the segment after it stays.
  auto log = open_log(false, 18);
  EXPECT_EQ(log->log_end_offset(), 18);
  EXPECT_TRUE(fs::exists(segment_path(12)));
  const auto damage = log->damaged_ranges();
  ASSERT_FALSE(damage.empty());
  EXPECT_EQ(damage.front().first_offset, 8);
}

TEST_P(SealedSegmentSyncTest, TheFlusherSyncsASealedSegmentOfAnOsModeTopicInTheBackground) {
  keel::Flusher flusher(&clock_, nullptr);
  flusher.start();
  auto log = std::make_shared<PartitionLog>("orders", 0, dir(), options_, &clock_);
  log->open(true, 0);
  const FlushPolicy os{FlushMode::Os, 1000, 10000};
  for (int i = 0; i < 4; ++i) {
    append_one(*log, "t" + std::to_string(i));
    flusher.appended(log, os, log->log_end_offset(), nullptr);
  }
  ASSERT_EQ(log->segment_infos().size(), 2u);
  EXPECT_TRUE(wait_for([&] { return log->flushed_offset() == 6; }))
      << "flushed offset " << log->flushed_offset() << ": nothing synced the sealed segment";
  EXPECT_EQ(log->flushed_offset(), 6) << "os mode: the active segment is not synced";

  // A roll by age (the maintenance thread) is queued through rolled().
  clock_.advance(options_.segment_ms);
  ASSERT_TRUE(log->roll_if_aged());
  flusher.rolled(log);
  EXPECT_TRUE(wait_for([&] { return log->flushed_offset() == 8; }))
      << "flushed offset " << log->flushed_offset() << " after the aged roll";
  flusher.stop();
  log->close();
}

INSTANTIATE_TEST_SUITE_P(Indexes, SealedSegmentSyncTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "indexed" : "unindexed"; });

}  // namespace
