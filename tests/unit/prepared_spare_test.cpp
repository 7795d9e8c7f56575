// Prepared spares (storage/spare_segment.hpp, storage/spare_maker.hpp): a
// busy partition with no recycled spare gets a file of segment_bytes whose
// blocks are allocated off the append path; the next roll writes into it,
// recovery finds the data's end in it (its unwritten blocks read as zeros),
// and nothing is prepared where it would cost room or break a promise.
// Each log test runs with no index and with the built-in indexes.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <keel/record_batch.hpp>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "storage/partition_log.hpp"
#include "storage/spare_maker.hpp"
#include "storage/spare_segment.hpp"
#include "support/log_file_fixture.hpp"
#include "support/small_fs.hpp"
#include "support/temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
using keel::LogOptions;
using keel::PartitionLog;
using keel::Segment;
using keel::test::make_batch;
using keel::test::spare_files_in;

constexpr int64_t kPreparedSegmentBytes = 64 * 1024;

// A topic that recycles and preallocates: the settings prepared spares need.
LogOptions spare_options(int64_t segment_bytes) {
  LogOptions options;
  options.segment_bytes = segment_bytes;
  options.recycle_segments = true;
  options.preallocate = true;
  return options;
}

struct FileShape {
  ino_t inode = 0;
  int64_t size = -1;
  int64_t allocated = -1;  // bytes of blocks the file system holds for it
};

FileShape shape_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {};
  return {st.st_ino, static_cast<int64_t>(st.st_size), static_cast<int64_t>(st.st_blocks) * 512};
}

class PreparedSpareTest : public keel::test::LogFileFixture {
 protected:
  PreparedSpareTest() : LogFileFixture("keel-prepared-spare") {}
  void SetUp() override {
    LogFileFixture::SetUp();
    options_.segment_bytes = kPreparedSegmentBytes;
    options_.recycle_segments = true;
    options_.preallocate = true;
  }

  std::string prepared_path() const { return keel::spare_segment::prepared_path(dir()); }

  // Appends 1 KiB batches until the log has rolled once more.
  void roll_once(PartitionLog& log, const std::string& tag) {
    const size_t target = log.segment_count() + 1;
    while (log.segment_count() < target) append_one(log, tag + std::to_string(written_.size()), 8);
  }
};

TEST_P(PreparedSpareTest, ASpareGetsItsBlocksAndTheNextRollWritesIntoIt) {
  auto log = open_log();
  append_one(*log, "a");
  ASSERT_TRUE(log->prepare_spare());
  EXPECT_THAT(spare_files_in(dir()), ::testing::ElementsAre("spare-" + Segment::file_name(0) + ".segment"));
  const FileShape spare = shape_of(prepared_path());
  EXPECT_EQ(spare.size, kPreparedSegmentBytes);
  // Allocated, not a hole: this is what keeps block allocation off appends.
  EXPECT_GE(spare.allocated, kPreparedSegmentBytes);

  roll_once(*log, "b");
  EXPECT_TRUE(spare_files_in(dir()).empty()) << "the roll did not take the prepared spare";
  EXPECT_EQ(shape_of(active_path(*log)).inode, spare.inode) << "the new segment is not the spare's file";
  append_one(*log, "c");
  expect_all_readable(*log);
  // Its sync cuts the sealed segment's unused rest, as for any reused file.
  roll_once(*log, "d");
  log->sync_sealed();
  const auto infos = log->segment_infos();
  const auto& sealed = infos[infos.size() - 2];
  EXPECT_EQ(shape_of(dir() + "/" + Segment::file_name(sealed.base_offset) + ".log").size, sealed.size_bytes);
  expect_all_readable(*log);
}

// A crash with the active segment written into a prepared spare: after the
// data come the spare's unwritten blocks, which read as zeros and end the
// data without any of it taken for damage.
TEST_P(PreparedSpareTest, AnUncleanStopFindsTheDataEndInAPreparedSpare) {
  int64_t end = 0;
  int64_t data = 0;
  std::string file;
  {
    auto log = open_log();
    append_one(*log, "a");
    ASSERT_TRUE(log->prepare_spare());
    roll_once(*log, "b");
    append_one(*log, "c");
    log->flush();
    end = log->log_end_offset();
    data = log->segment_infos().back().size_bytes;
    file = active_path(*log);
    EXPECT_EQ(shape_of(file).size, kPreparedSegmentBytes);
  }  // no close: as a crash leaves it
  auto log = open_log(/*clean=*/false, end);
  EXPECT_EQ(log->log_end_offset(), end);
  EXPECT_EQ(log->segment_infos().back().size_bytes, data);
  EXPECT_EQ(shape_of(file).inode, shape_of(active_path(*log)).inode);
  expect_all_readable(*log);
  append_one(*log, "after");
  expect_all_readable(*log);
}

// The roll's rename of the spare is synced with the new segment's first
// sync. Before it, a crash can give the file its spare name back with new
// batches in it (and its first page, never written back, may read as
// zeros): they were never promised durable, and the file must not become a
// segment again with them inside. So an unclean start drops any prepared
// spare; a clean one keeps it.
TEST_P(PreparedSpareTest, AnUncleanStartDropsAPreparedSpareAndACleanOneKeepsIt) {
  int64_t before = 0;
  {
    auto log = open_log();
    append_one(*log, "a");
    ASSERT_TRUE(log->prepare_spare());
    before = log->log_end_offset();
    roll_once(*log, "b");
    ASSERT_EQ(::rename(active_path(*log).c_str(), prepared_path().c_str()), 0);
  }
  {
    auto log = open_log(/*clean=*/false, 0);
    EXPECT_TRUE(spare_files_in(dir()).empty());
    EXPECT_GE(log->log_end_offset(), before);
    ASSERT_TRUE(log->prepare_spare());
    log->close();
  }
  { open_log(/*clean=*/true, 0)->close(); }
  EXPECT_THAT(spare_files_in(dir()), ::testing::ElementsAre("spare-" + Segment::file_name(0) + ".segment"));
  { auto crashed = open_log(/*clean=*/true, 0); }  // no close
  auto log = open_log(/*clean=*/false, 0);
  EXPECT_TRUE(spare_files_in(dir()).empty()) << "an unused prepared spare cannot be told from a lost segment";
}

// A partition that slowed down gives its prepared spare back at a
// retention pass; one still filling its segment keeps it.
TEST_P(PreparedSpareTest, ARetentionPassDeletesThePreparedSpareOfAPartitionThatSlowedDown) {
  auto log = open_log();
  append_one(*log, "a");
  ASSERT_TRUE(log->prepare_spare());
  roll_once(*log, "b");  // takes it
  ASSERT_TRUE(log->prepare_spare());
  log->end_retention_pass();  // a roll since the last pass: kept
  EXPECT_EQ(spare_files_in(dir()).size(), 1u);
  log->end_retention_pass();  // none since, active under half full: goes
  EXPECT_TRUE(spare_files_in(dir()).empty());

  ASSERT_TRUE(log->prepare_spare());
  while (log->segment_infos().back().size_bytes < kPreparedSegmentBytes / 2) append_one(*log, "c", 8);
  log->end_retention_pass();  // past half full: about to roll, kept
  EXPECT_EQ(spare_files_in(dir()).size(), 1u);
}

TEST_P(PreparedSpareTest, ACancelledPreparationLeavesNothing) {
  auto log = open_log();
  std::atomic<bool> cancel{true};
  EXPECT_FALSE(log->prepare_spare(&cancel));
  EXPECT_TRUE(spare_files_in(dir()).empty());
  EXPECT_FALSE(fs::exists(dir() + "/" + keel::spare_segment::kPreparingName));
  cancel = false;
  EXPECT_TRUE(log->prepare_spare(&cancel));
}

TEST_P(PreparedSpareTest, OneSpareAtATime) {
  auto log = open_log();
  ASSERT_TRUE(log->prepare_spare());
  EXPECT_FALSE(log->prepare_spare());
  EXPECT_EQ(spare_files_in(dir()).size(), 1u);
}

TEST_P(PreparedSpareTest, NothingIsPreparedWithoutRecyclingOrPreallocation) {
  for (const bool recycle : {false, true}) {
    auto log = open_log();
    auto live = log->live_options();
    live.recycle_segments = recycle;
    live.preallocate = !recycle;
    log->set_live_options(live);
    EXPECT_FALSE(log->prepare_spare()) << "recycle_segments " << recycle;
    EXPECT_TRUE(spare_files_in(dir()).empty());
    log->close();
  }
}

TEST_P(PreparedSpareTest, AClosedPartitionPreparesNothing) {
  auto log = open_log();
  log->close(PartitionLog::Closing::Discard);
  EXPECT_FALSE(log->prepare_spare());
  EXPECT_TRUE(spare_files_in(dir()).empty());
}

// A stop while a spare was being allocated leaves its temporary file: the
// next open gives its blocks back.
TEST_P(PreparedSpareTest, AnUnfinishedPreparationIsDeletedAtOpen) {
  { open_log()->close(); }
  const std::string leftover = dir() + "/" + keel::spare_segment::kPreparingName;
  std::ofstream(leftover) << std::string(4096, '\0');
  ASSERT_TRUE(fs::exists(leftover));
  auto log = open_log(/*clean=*/false, 0);
  EXPECT_FALSE(fs::exists(leftover));
  EXPECT_TRUE(log->prepare_spare());
}

// The partition asks once per active segment, when it is half full or when
// a roll sealed a segment that was; an idle partition never asks.
TEST_P(PreparedSpareTest, APartitionAsksForASpareOncePerHalfFullSegment) {
  int asked = 0;
  auto log = std::make_unique<PartitionLog>("orders", 0, dir(), options_, &clock_);
  log->set_spare_hooks({.wanted = [&] { ++asked; }, .no_space = {}});
  log->open(true, 0);
  append_one(*log, "a", 8);
  EXPECT_EQ(asked, 0);
  while (log->segment_infos().back().size_bytes < kPreparedSegmentBytes / 2) append_one(*log, "b", 8);
  EXPECT_EQ(asked, 1);
  append_one(*log, "c", 8);
  EXPECT_EQ(asked, 1);
  roll_once(*log, "d");  // the sealed segment was full: ask for the next roll now
  EXPECT_EQ(asked, 2);
  append_one(*log, "e", 8);
  EXPECT_EQ(asked, 2);

  // Rolled by age, well under half full: no ask at the roll.
  auto live = log->live_options();
  live.segment_ms = 1000;
  log->set_live_options(live);
  roll_once(*log, "f");  // the active one above was past half: asks once more
  const int after_full = asked;
  clock_.advance(2000);
  ASSERT_TRUE(log->roll_if_aged());
  append_one(*log, "g", 8);
  EXPECT_EQ(asked, after_full);
}

TEST_P(PreparedSpareTest, ATopicThatDoesNotRecycleNeverAsks) {
  options_.recycle_segments = false;
  int asked = 0;
  auto log = std::make_unique<PartitionLog>("orders", 0, dir(), options_, &clock_);
  log->set_spare_hooks({.wanted = [&] { ++asked; }, .no_space = {}});
  log->open(true, 0);
  roll_once(*log, "a");
  roll_once(*log, "b");
  EXPECT_EQ(asked, 0);
}

INSTANTIATE_TEST_SUITE_P(Indexes, PreparedSpareTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "WithIndexes" : "NoIndexes"; });

// The maker's thread prepares for the partitions that ask, and skips one
// deleted meanwhile.
TEST(SpareMakerTest, PreparesASpareForAPartitionThatAsks) {
  keel::test::TempDir dir("keel-spare-maker");
  keel::ManualClock clock(1'700'000'000'000);
  const LogOptions options = spare_options(kPreparedSegmentBytes);
  keel::SpareMaker maker;
  auto log = std::make_shared<PartitionLog>("orders", 0, dir.sub("orders-0"), options, &clock);
  log->set_spare_hooks(maker.hooks_for(log));
  log->open(true, 0);
  while (log->segment_infos().back().size_bytes < kPreparedSegmentBytes / 2) {
    const std::string b = make_batch(8, "a");
    log->append(reinterpret_cast<const uint8_t*>(b.data()), b.size());
  }
  maker.drain();
  EXPECT_GE(shape_of(keel::spare_segment::prepared_path(dir.sub("orders-0"))).allocated,
            kPreparedSegmentBytes);

  auto gone = std::make_shared<PartitionLog>("gone", 0, dir.sub("gone-0"), options, &clock);
  gone->open(true, 0);
  maker.want(gone);
  gone.reset();
  maker.drain();  // returns: the deleted partition is skipped
  maker.stop();
  maker.want(log);  // ignored after stop
  maker.drain();
}

// [disk-full] A spare is room held for later rolls: when another
// partition's write finds the disk full, the maker deletes the spares of
// every partition it served, and that write's retry fits.
TEST(SpareMakerTest, AFullDiskReleasesEveryPartitionsSpares) {
  keel::test::SmallFs small(16 << 20);
  if (!small.mounted()) GTEST_SKIP() << small.why_not();
  keel::ManualClock clock(1'700'000'000'000);
  LogOptions options = spare_options(1 << 20);
  options.max_batch_bytes = 64 * 1024;
  keel::SpareMaker maker;
  auto busy = std::make_shared<PartitionLog>("busy", 0, small.sub("busy-0"), options, &clock);
  busy->set_spare_hooks(maker.hooks_for(busy));
  busy->open(true, 0);
  auto other = std::make_shared<PartitionLog>("other", 0, small.sub("other-0"), options, &clock);
  other->set_spare_hooks(maker.hooks_for(other));
  other->open(true, 0);
  const std::string value(1000, 'v');
  while (busy->segment_infos().back().size_bytes < options.segment_bytes / 2) {
    const std::string b = make_batch(32, value);
    busy->append(reinterpret_cast<const uint8_t*>(b.data()), b.size());
  }
  maker.drain();
  ASSERT_EQ(spare_files_in(small.sub("busy-0")).size(), 1u);
  // A partition that never asked (its spare kept from before a clean
  // restart, here made directly) is released too.
  auto quiet = std::make_shared<PartitionLog>("quiet", 0, small.sub("quiet-0"), options, &clock);
  quiet->set_spare_hooks(maker.hooks_for(quiet));
  quiet->open(true, 0);
  ASSERT_TRUE(quiet->prepare_spare());

  ASSERT_TRUE(small.fill());
  const std::string big = make_batch(32, value);
  EXPECT_THROW(other->append(reinterpret_cast<const uint8_t*>(big.data()), big.size()), keel::Error);
  // A second failed write's request (made directly: a real second write
  // may already fit, the release running meanwhile) is served by the one
  // release or by one more; either way the spares go.
  maker.release_all();
  maker.drain();
  EXPECT_TRUE(spare_files_in(small.sub("busy-0")).empty());
  EXPECT_TRUE(spare_files_in(small.sub("quiet-0")).empty());
  EXPECT_GE(other->append(reinterpret_cast<const uint8_t*>(big.data()), big.size()).base_offset, 0);
}

// An allocation stops between two chunks once cancelled (a partition
// closing, a full disk, the broker stopping) and leaves no file behind.
TEST(PreparedSpareCancel, AnAllocationStopsBetweenChunksAndLeavesNothing) {
  keel::test::TempDir dir("keel-spare-cancel");
  int asked = 0;
  std::string why;
  const auto outcome = keel::spare_segment::prepare(
      dir.str(), 3 * keel::spare_segment::kPrepareChunkBytes, [&] { return ++asked > 1; }, &why);
  EXPECT_EQ(outcome, keel::spare_segment::Prepared::kCancelled);
  EXPECT_EQ(asked, 2) << "asked before each chunk: one allocated, then cancelled";
  EXPECT_TRUE(fs::is_empty(dir.str()));
}

// Room for a spare is room the data may need: with less than twice the
// segment free, none is made (and no temporary file stays).
TEST(PreparedSpareRoom, NoSpareWithoutRoomForIt) {
  keel::test::SmallFs small(4 << 20);
  if (!small.mounted()) GTEST_SKIP() << small.why_not();
  keel::ManualClock clock(1'700'000'000'000);
  const LogOptions options = spare_options(3 << 20);
  PartitionLog log("orders", 0, small.sub("orders-0"), options, &clock);
  log.open(true, 0);
  EXPECT_FALSE(log.prepare_spare());
  EXPECT_TRUE(spare_files_in(small.sub("orders-0")).empty());
}

}  // namespace
