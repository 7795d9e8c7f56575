// Preallocated segment files (topic setting preallocate,
// Segment::preallocate): the active segment's file is sized to
// segment_bytes up front as a hole, so appends never grow it; a roll and a
// clean close cut it to its data; after a crash recovery ends the data at
// the hole's zeros, not at damage, and a torn write there is cut as a torn
// tail. Each test runs with no index and with the built-in indexes.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <keel/record_batch.hpp>
#include <memory>
#include <string>
#include <vector>

#include "storage/partition_log.hpp"
#include "storage/segment_check.hpp"
#include "support/log_file_fixture.hpp"

namespace {

namespace fs = std::filesystem;
using keel::PartitionLog;
using keel::Segment;
using keel::test::make_batch;

constexpr int64_t kSegmentBytes = 64 * 1024;

int64_t file_size(const std::string& path) { return static_cast<int64_t>(fs::file_size(path)); }

struct stat stat_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st;
}

class PreallocatedSegmentTest : public keel::test::LogFileFixture {
 protected:
  PreallocatedSegmentTest() : LogFileFixture("keel-prealloc") {}
  void SetUp() override {
    LogFileFixture::SetUp();
    options_.segment_bytes = kSegmentBytes;
    options_.preallocate = true;
  }
  // A log with `batches` batches, flushed and left without a close: its
  // active file keeps its full size, as after a SIGKILL. The file, the log
  // end and the data's size.
  struct Crashed {
    std::string file;
    int64_t end = 0;
    int64_t data = 0;
  };
  Crashed crash_after(int batches) {
    auto log = open_log();
    for (int i = 0; i < batches; ++i) append_one(*log, "c" + std::to_string(i));
    log->flush();
    return {active_path(*log), log->log_end_offset(), log->segment_infos().back().size_bytes};
  }
  void fill_until_rolled(PartitionLog& log) {
    const size_t target = log.segment_count() + 1;
    while (log.segment_count() < target) append_one(log, "r" + std::to_string(written_.size()), 20);
  }
};

TEST_P(PreallocatedSegmentTest, TheActiveFileIsSizedUpFrontWithoutTakingTheDisk) {
  auto log = open_log();
  append_one(*log, "a");
  const std::string active = active_path(*log);
  EXPECT_EQ(file_size(active), kSegmentBytes);
  // A hole: the blocks the data and its page take, not the whole size.
  EXPECT_LT(stat_of(active).st_blocks * 512, kSegmentBytes / 2);
  EXPECT_LT(log->segment_infos().back().size_bytes, kSegmentBytes);
  expect_all_readable(*log);
}

TEST_P(PreallocatedSegmentTest, ARollCutsTheOldFileToItsDataAndSizesTheNewOne) {
  auto log = open_log();
  fill_until_rolled(*log);
  const auto infos = log->segment_infos();
  ASSERT_EQ(infos.size(), 2u);
  const std::string old = dir() + "/" + Segment::file_name(infos[0].base_offset) + ".log";
  EXPECT_EQ(file_size(active_path(*log)), kSegmentBytes);
  // The cut is left to the sealed segment's sync (the flusher's): the roll
  // holds every append.
  EXPECT_EQ(file_size(old), kSegmentBytes);
  log->sync_sealed();
  EXPECT_EQ(file_size(old), infos[0].size_bytes);
  expect_all_readable(*log);
}

TEST_P(PreallocatedSegmentTest, ACrashBeforeTheRolledSegmentsSyncLeavesItsHoleAndLosesNothing) {
  int64_t end = 0;
  int64_t rolled_end = 0;
  std::string rolled;
  {
    auto log = open_log();
    fill_until_rolled(*log);
    append_one(*log, "in-the-new-one");
    end = log->log_end_offset();
    const auto infos = log->segment_infos();
    rolled = dir() + "/" + Segment::file_name(infos[0].base_offset) + ".log";
    rolled_end = infos[0].next_offset;
    ASSERT_TRUE(log->segment_awaiting_sync());
  }  // no close, no sync of the rolled segment: its file keeps the hole
  EXPECT_EQ(file_size(rolled), kSegmentBytes);
  auto log = open_log(/*clean=*/false, rolled_end);
  EXPECT_EQ(log->log_end_offset(), end);
  EXPECT_TRUE(log->damaged_ranges().empty());
  append_one(*log, "after");
  EXPECT_EQ(written_.back().first, end);
  expect_all_readable(*log);
}

TEST_P(PreallocatedSegmentTest, ACleanCloseCutsTheActiveFileAndTheNextOpenSizesItAgain) {
  int64_t end = 0;
  std::string active;
  {
    auto log = open_log();
    append_one(*log, "a");
    end = log->log_end_offset();
    active = active_path(*log);
    log->close();
    EXPECT_EQ(file_size(active), log->segment_infos().back().size_bytes);
  }
  auto log = open_log(/*clean=*/true, end);
  EXPECT_EQ(log->log_end_offset(), end);
  EXPECT_EQ(file_size(active), kSegmentBytes);
  append_one(*log, "b");
  EXPECT_EQ(written_.back().first, end);
  expect_all_readable(*log);
}

TEST_P(PreallocatedSegmentTest, ACrashLeavesTheHoleAndRecoveryEndsTheDataThere) {
  const Crashed c = crash_after(2);
  ASSERT_EQ(file_size(c.file), kSegmentBytes);
  // keel-tool verify sees the rest as unused, not as damage.
  const keel::SegmentCheck check = keel::check_segment(c.file, 0, INT64_MAX);
  EXPECT_TRUE(check.damage.empty()) << check.damage.front().describe();
  EXPECT_EQ(check.next_offset, c.end);
  EXPECT_EQ(check.unused_bytes, kSegmentBytes - c.data);

  auto log = open_log(/*clean=*/false, c.end);
  EXPECT_EQ(log->log_end_offset(), c.end);
  EXPECT_EQ(log->segment_infos().back().size_bytes, c.data);
  EXPECT_EQ(file_size(c.file), kSegmentBytes);  // recovered, then sized again
  append_one(*log, "after");
  EXPECT_EQ(written_.back().first, c.end);
  expect_all_readable(*log);
}

TEST_P(PreallocatedSegmentTest, ATornWriteInTheHoleIsCutAsATornTail) {
  const Crashed c = crash_after(1);
  // Half of a next batch reached the disk before the crash, the rest of
  // the hole is zeros.
  const std::string next = make_batch(2, "torn");
  const int fd = ::open(c.file.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::pwrite(fd, next.data(), next.size() / 2, c.data), static_cast<ssize_t>(next.size() / 2));
  ::close(fd);

  auto log = open_log(/*clean=*/false, c.end);
  EXPECT_EQ(log->log_end_offset(), c.end);
  EXPECT_EQ(log->segment_infos().back().size_bytes, c.data);
  append_one(*log, "after");
  EXPECT_EQ(written_.back().first, c.end);
  expect_all_readable(*log);
}

TEST_P(PreallocatedSegmentTest, OffLeavesTheFileAtItsData) {
  options_.preallocate = false;
  auto log = open_log();
  append_one(*log, "a");
  EXPECT_EQ(file_size(active_path(*log)), log->segment_infos().back().size_bytes);
}

TEST_P(PreallocatedSegmentTest, TurnedOffWhileRunningTheNextSegmentGrowsInstead) {
  auto log = open_log();
  auto live = log->live_options();
  live.preallocate = false;
  log->set_live_options(live);
  EXPECT_EQ(file_size(active_path(*log)), kSegmentBytes);  // made before
  fill_until_rolled(*log);
  EXPECT_EQ(file_size(active_path(*log)), log->segment_infos().back().size_bytes);
  expect_all_readable(*log);
}

TEST_P(PreallocatedSegmentTest, ABatchLargerThanTheSegmentStillGoesIn) {
  auto log = open_log();
  const std::string big = make_batch(2, std::string(kSegmentBytes, 'x'));
  written_.push_back(
      {log->append(reinterpret_cast<const uint8_t*>(big.data()), big.size()).base_offset, big});
  EXPECT_GT(file_size(active_path(*log)), kSegmentBytes);
  append_one(*log, "after");
  expect_all_readable(*log);
}

// Zeros after the data are for a reused file's old bytes; in the hole they
// would take the next block before the data needs it, and on a full disk
// refuse an append whose data still fits its page.
TEST_P(PreallocatedSegmentTest, AnAppendIntoTheHoleTakesNoBlockBeyondItsData) {
  auto log = open_log();
  // One batch ending 30 bytes before the end of the first page: fewer
  // than a header's worth of zeros would fit behind it.
  const int64_t target = 4096 - 30;
  std::string b = make_batch(1, "");
  for (size_t value = 0; static_cast<int64_t>(b.size()) != target && value < 4096; ++value) {
    b = make_batch(1, std::string(value, 'v'));  // varint lengths: search
  }
  ASSERT_EQ(static_cast<int64_t>(b.size()), target);
  written_.push_back({log->append(reinterpret_cast<const uint8_t*>(b.data()), b.size()).base_offset, b});
  log->flush();
  EXPECT_EQ(stat_of(active_path(*log)).st_blocks * 512, 4096);
  expect_all_readable(*log);
}

// Time retention falls back on the file's modification time for segments
// without timestamps: a cut of the hole must not make a segment look new.
TEST_P(PreallocatedSegmentTest, CuttingTheHoleKeepsTheModificationTime) {
  auto log = open_log();
  append_one(*log, "a");
  const std::string active = active_path(*log);
  const struct timespec old_times[2] = {{0, UTIME_OMIT}, {1'600'000'000, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, active.c_str(), old_times, 0), 0);
  log->close();
  EXPECT_LT(file_size(active), kSegmentBytes);
  EXPECT_EQ(stat_of(active).st_mtim.tv_sec, 1'600'000'000);
}

INSTANTIATE_TEST_SUITE_P(Indexes, PreallocatedSegmentTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "WithIndexes" : "NoIndexes"; });

}  // namespace
