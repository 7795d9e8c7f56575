// Recycled segment files (recycle_segments, storage/spare_segment.hpp):
// retention keeps one deleted segment's file, the next roll writes over it,
// and recovery finds where the new data ends in it (zeros, or an older
// segment's batches) without taking that end for damage, nor damage for
// that end. Each test runs with no index and with the built-in indexes.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <keel/record_batch.hpp>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "storage/partition_log.hpp"
#include "storage/segment_check.hpp"
#include "storage/spare_segment.hpp"
#include "support/error_of.hpp"
#include "support/log_file_fixture.hpp"
#include "support/small_fs.hpp"
#include "support/temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
using keel::LogOptions;
using keel::PartitionLog;
using keel::ReadResult;
using keel::Segment;
using keel::test::error_of;
using keel::test::make_batch;
using keel::test::pread_all;
using keel::test::spare_files_in;
namespace batch = keel::batch;

ino_t inode_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_ino;
}

class RecycledSegmentTest : public keel::test::LogFileFixture {
 protected:
  RecycledSegmentTest() : LogFileFixture("keel-recycle") {}
  void SetUp() override {
    LogFileFixture::SetUp();
    options_.segment_bytes = 2048;
    options_.recycle_segments = true;
  }

  // A log whose active segment reuses a spare, left without a close (as a
  // crash leaves it): the file still holds the spare's old batches after
  // the data. Returns the file, the log end and the data's size.
  struct Crashed {
    std::string file;
    int64_t end = 0;
    int64_t data = 0;
  };
  Crashed crash_with_a_reused_segment() {
    auto log = open_log();
    Crashed c;
    c.file = reuse_a_spare(*log);
    log->flush();
    c.end = log->log_end_offset();
    c.data = log->segment_infos().back().size_bytes;
    EXPECT_GT(static_cast<int64_t>(fs::file_size(c.file)), c.data);
    return c;
  }

  // Appends batches of 2 records until the log has rolled `rolls` times;
  // keeps every batch's bytes by its base offset.
  void fill(PartitionLog& log, size_t rolls, const std::string& tag) {
    const size_t target = log.segment_count() + rolls;
    while (log.segment_count() < target) {
      const std::string b = make_batch(2, tag + std::to_string(written_.size()));
      const auto r = log.append(reinterpret_cast<const uint8_t*>(b.data()), b.size());
      written_.push_back({r.base_offset, b});
    }
  }

  // Rolls until retention has made a spare and a roll has reused it;
  // returns the reused file's path.
  std::string reuse_a_spare(PartitionLog& log) {
    fill(log, 3, "a");
    // A pass before these rolls: the next one keeps a spare for one roll.
    log.end_retention_pass();
    EXPECT_EQ(log.delete_oldest(2), 2);
    const auto spares = spare_files_in(dir());
    EXPECT_EQ(spares.size(), 1u);
    if (spares.empty()) return "";
    const ino_t spare_inode = inode_of(dir() + "/" + spares[0]);
    fill(log, 1, "b");
    EXPECT_TRUE(spare_files_in(dir()).empty());
    const std::string active = active_path(log);
    EXPECT_EQ(inode_of(active), spare_inode) << "the new segment is not the spare's file";
    return active;
  }
};

TEST_P(RecycledSegmentTest, RetentionKeepsOneSpareThatTheNextRollWritesOver) {
  auto log = open_log();
  fill(*log, 3, "a");
  log->end_retention_pass();  // no roll since this one: one spare is enough
  const auto infos = log->segment_infos();
  ASSERT_EQ(log->delete_oldest(2), 2);
  // The newer of the two deleted segments stays, named for the offset after
  // its last one; the older goes.
  EXPECT_THAT(spare_files_in(dir()),
              ::testing::ElementsAre("spare-" + Segment::file_name(infos[1].next_offset) + ".segment"));
  EXPECT_FALSE(fs::exists(dir() + "/" + Segment::file_name(infos[0].base_offset) + ".log"));

  const std::string active = reuse_a_spare(*log);
  // While active, the file is longer than its data: appends overwrite.
  const auto now = log->segment_infos().back();
  EXPECT_GT(static_cast<int64_t>(fs::file_size(active)), now.size_bytes);
  expect_all_readable(*log);

  // The sealed segment's sync (the flusher's, after the roll) cuts the
  // unused rest: a closed segment's file is its data. The roll itself
  // leaves the file alone: appends wait for it.
  fill(*log, 1, "c");
  const int64_t data = log->segment_infos()[log->segment_count() - 2].size_bytes;
  EXPECT_GT(static_cast<int64_t>(fs::file_size(active)), data);
  log->sync_sealed();
  EXPECT_EQ(static_cast<int64_t>(fs::file_size(active)), data);
  expect_all_readable(*log);
}

TEST_P(RecycledSegmentTest, WithoutTheSettingRetentionKeepsNothing) {
  options_.recycle_segments = false;
  auto log = open_log();
  fill(*log, 3, "a");
  ASSERT_EQ(log->delete_oldest(2), 2);
  EXPECT_TRUE(spare_files_in(dir()).empty());
}

TEST_P(RecycledSegmentTest, ACleanCloseCutsTheUnusedRest) {
  std::string active;
  int64_t end = 0;
  {
    auto log = open_log();
    active = reuse_a_spare(*log);
    end = log->log_end_offset();
    log->close();
    EXPECT_EQ(static_cast<int64_t>(fs::file_size(active)), log->segment_infos().back().size_bytes);
  }
  auto log = open_log(/*clean=*/true, end);
  EXPECT_EQ(log->log_end_offset(), end);
  expect_all_readable(*log);
}

TEST_P(RecycledSegmentTest, AnUncleanStopEndsTheDataWhereTheOldBatchesBegin) {
  const Crashed c = crash_with_a_reused_segment();
  auto log = open_log(/*clean=*/false, c.end);
  EXPECT_EQ(log->log_end_offset(), c.end);
  EXPECT_EQ(static_cast<int64_t>(fs::file_size(c.file)), c.data);
  expect_all_readable(*log);
  append_one(*log, "after");
  expect_all_readable(*log);
}

TEST_P(RecycledSegmentTest, ACleanStartFindsTheSameEndIfTheCloseDidNotCut) {
  const Crashed c = crash_with_a_reused_segment();
  auto log = open_log(/*clean=*/true, c.end);
  EXPECT_EQ(log->log_end_offset(), c.end);
  EXPECT_EQ(static_cast<int64_t>(fs::file_size(c.file)), c.data);
  expect_all_readable(*log);
  append_one(*log, "after");
  expect_all_readable(*log);
}

TEST_P(RecycledSegmentTest, AppendsLeaveZerosAfterTheirDataInAReusedFile) {
  const Crashed c = crash_with_a_reused_segment();
  const int fd = ::open(c.file.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(pread_all(fd, c.data, 61), std::string(61, '\0'));
  ::close(fd);
}

// What a power cut could leave instead of those zeros (their page lost):
// the old file's bytes. After an old batch's header the data ends as well;
// after the middle of an old batch it is cut as a torn write. Either way
// nothing acknowledged goes and nothing old is served.
TEST_P(RecycledSegmentTest, WithoutTheZerosTheOldBytesStillEndTheData) {
  const std::string old_batch = make_batch(3, "old");  // base offset 0: below any reused segment's base
  for (const std::string& rest : {old_batch.substr(0, 61), std::string(61, 'A')}) {
    written_.clear();
    fs::remove_all(dir());
    const Crashed c = crash_with_a_reused_segment();
    const int fd = ::open(c.file.c_str(), O_WRONLY);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::pwrite(fd, rest.data(), rest.size(), c.data), 61);
    ::close(fd);
    auto log = open_log(/*clean=*/false, c.end);
    EXPECT_EQ(log->log_end_offset(), c.end);
    EXPECT_EQ(static_cast<int64_t>(fs::file_size(c.file)), c.data);
    expect_all_readable(*log);
  }
}

TEST_P(RecycledSegmentTest, KeelToolVerifySeesTheRestAsUnusedNotDamage) {
  const Crashed c = crash_with_a_reused_segment();
  const int64_t base = std::stoll(fs::path(c.file).stem().string());
  const keel::SegmentCheck check = keel::check_segment(c.file, base, INT64_MAX);
  EXPECT_TRUE(check.damage.empty()) << check.damage.front().describe();
  EXPECT_EQ(check.unused_bytes, static_cast<int64_t>(fs::file_size(c.file)) - c.data);
  EXPECT_EQ(check.next_offset, c.end);
}

TEST_P(RecycledSegmentTest, ZerosAfterTheDataEndItToo) {
  int64_t end = 0;
  std::string path;
  int64_t data = 0;
  {
    auto log = open_log();
    append_one(*log, "z", 3);
    log->flush();
    end = log->log_end_offset();
    data = log->segment_infos().back().size_bytes;
    path = dir() + "/" + Segment::file_name(0) + ".log";
  }
  // A file extended with zeros (Kafka's preallocation leaves such files).
  ASSERT_EQ(::truncate(path.c_str(), data + 65536), 0);
  auto log = open_log(/*clean=*/false, end);
  EXPECT_EQ(log->log_end_offset(), end);
  EXPECT_EQ(static_cast<int64_t>(fs::file_size(path)), data);
  expect_all_readable(*log);
}

TEST_P(RecycledSegmentTest, OldBatchesBeforeTheAcknowledgedEndAreDamageNotTheEnd) {
  std::string active;
  int64_t end = 0;
  {
    auto log = open_log();
    active = reuse_a_spare(*log);
    for (int i = 0; i < 3; ++i) append_one(*log, "late" + std::to_string(i));
    log->flush();
    end = log->log_end_offset();
  }
  // The first batch of the reused segment is lost (zeros where it was):
  // what follows was acknowledged and must still be served; the lost
  // offsets are damage, not the end of the log.
  const int fd = ::open(active.c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  const std::string zeros(61, '\0');
  ASSERT_EQ(::pwrite(fd, zeros.data(), zeros.size(), 0), 61);
  ::close(fd);
  auto log = open_log(/*clean=*/false, end);
  EXPECT_EQ(log->log_end_offset(), end);
  ASSERT_FALSE(log->damaged_ranges().empty());
  const int64_t first = log->damaged_ranges().front().first_offset;
  EXPECT_EQ(error_of([&] { log->read(first, 1); }).code(), KEEL_ERR_CORRUPT);
  for (const auto& [offset, bytes] : written_) {
    if (offset <= log->damaged_ranges().front().last_offset || offset < log->log_start_offset()) continue;
    const ReadResult r = log->read(offset, 1);
    EXPECT_EQ(pread_all(r.segment->fd(), r.position, r.length).substr(16), bytes.substr(16)) << offset;
  }
}

TEST_P(RecycledSegmentTest, ASpareHoldingOffsetsAtOrAboveTheNewSegmentIsDeletedUnused) {
  auto log = open_log();
  fill(*log, 1, "a");
  // As if the log had been cut back below what the spare holds.
  const std::string spare = keel::spare_segment::path(dir(), 1'000'000);
  {
    const std::string b = make_batch(2, "stale");
    const int fd = ::open(spare.c_str(), O_CREAT | O_WRONLY, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::write(fd, b.data(), b.size()), static_cast<ssize_t>(b.size()));
    ::close(fd);
  }
  fill(*log, 1, "b");
  EXPECT_FALSE(fs::exists(spare));
  const auto active = log->segment_infos().back();
  EXPECT_EQ(
      static_cast<int64_t>(fs::file_size(dir() + "/" + Segment::file_name(active.base_offset) + ".log")),
      active.size_bytes);
  expect_all_readable(*log);
}

TEST_P(RecycledSegmentTest, ASpareASegmentWasWrittenOverIsDeletedAtOpen) {
  auto log = open_log();
  fill(*log, 3, "a");
  log->end_retention_pass();
  ASSERT_EQ(log->delete_oldest(2), 2);
  const auto spares = spare_files_in(dir());
  ASSERT_EQ(spares.size(), 1u);
  const std::string spare = dir() + "/" + spares[0];
  fill(*log, 1, "b");  // the roll renames the spare to the new segment's name
  const auto active = log->segment_infos().back();
  ASSERT_FALSE(fs::exists(spare));
  {
    const std::string b = make_batch(2, "in-the-new-segment");
    log->append(reinterpret_cast<const uint8_t*>(b.data()), b.size());
  }
  log.reset();  // a power cut, without a close
  // The roll's rename never reached the disk (its directory fsync waits for
  // the new segment's first sync, which never came), but writeback did
  // write the new batches into the file: it is the spare again, starting
  // with batches at or above the offset its name allows.
  const std::string prefix = dir() + "/" + Segment::file_name(active.base_offset);
  fs::rename(prefix + ".log", spare);
  for (const char* index : {".index", ".timeindex"}) fs::remove(prefix + index);
  std::erase_if(written_, [&](const auto& w) { return w.first >= active.base_offset; });

  log = open_log(/*clean=*/false, active.base_offset);
  EXPECT_FALSE(fs::exists(spare)) << "its batches would pass for new ones in a later segment";
  EXPECT_EQ(log->log_end_offset(), active.base_offset);
  fill(*log, 2, "after");
  expect_all_readable(*log);
}

TEST_P(RecycledSegmentTest, RetentionKeepsASpareForEachRollSinceThePreviousPassAndUnusedOnesExpire) {
  auto log = open_log();
  fill(*log, 4, "a");
  const auto infos = log->segment_infos();
  // Four rolls since the log opened: the four deleted files all stay.
  ASSERT_EQ(log->delete_oldest(4), 4);
  std::vector<std::string> expected;
  for (size_t i = 0; i < 4; ++i)
    expected.push_back("spare-" + Segment::file_name(infos[i].next_offset) + ".segment");
  EXPECT_THAT(spare_files_in(dir()), ::testing::UnorderedElementsAreArray(expected));
  log->end_retention_pass();
  EXPECT_EQ(spare_files_in(dir()).size(), 4u) << "the pass that kept them expired them";

  // Two rolls take two of them (the newest first: likelier cached).
  fill(*log, 2, "b");
  EXPECT_THAT(spare_files_in(dir()), ::testing::UnorderedElementsAre(expected[0], expected[1]));
  log->end_retention_pass();  // two rolls in this period: two are wanted
  EXPECT_EQ(spare_files_in(dir()).size(), 2u);
  // A period without a roll: one stays (the newest), the other goes.
  log->end_retention_pass();
  EXPECT_THAT(spare_files_in(dir()), ::testing::ElementsAre(expected[1]));
  expect_all_readable(*log);
}

TEST_P(RecycledSegmentTest, SparesGoAtThePassAfterTheTopicStopsRecycling) {
  auto log = open_log();
  fill(*log, 3, "a");
  ASSERT_EQ(log->delete_oldest(2), 2);
  ASSERT_EQ(spare_files_in(dir()).size(), 2u);
  auto live = log->live_options();
  live.recycle_segments = false;
  log->set_live_options(live);
  log->end_retention_pass();
  EXPECT_TRUE(spare_files_in(dir()).empty());
  // And deleted segments no longer stay.
  fill(*log, 2, "b");
  ASSERT_EQ(log->delete_oldest(2), 2);
  EXPECT_TRUE(spare_files_in(dir()).empty());
  expect_all_readable(*log);
}

TEST_P(RecycledSegmentTest, SparesLeftByAnEarlierRunExpireToo) {
  {
    auto log = open_log();
    fill(*log, 3, "a");
    ASSERT_EQ(log->delete_oldest(2), 2);
    log->close();
  }
  ASSERT_EQ(spare_files_in(dir()).size(), 2u);
  auto log = open_log(/*clean=*/true, 0);
  log->end_retention_pass();  // no roll since the start: one is kept
  EXPECT_EQ(spare_files_in(dir()).size(), 1u);
}

TEST_P(RecycledSegmentTest, AnAppendInAReusedFileZeroesOnToTheEndOfItsLastPage) {
  auto log = open_log();
  const std::string active = reuse_a_spare(*log);
  // Old bytes everywhere past the data, as a spare that was once full has.
  const auto now = log->segment_infos().back();
  const int fd = ::open(active.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  const int64_t file = static_cast<int64_t>(fs::file_size(active));
  const int64_t page_end = std::min<int64_t>(file, (now.size_bytes + 61 + 4095) / 4096 * 4096);
  ASSERT_GE(page_end - now.size_bytes, 61);
  EXPECT_EQ(pread_all(fd, now.size_bytes, page_end - now.size_bytes),
            std::string(static_cast<size_t>(page_end - now.size_bytes), '\0'));
  ::close(fd);
  expect_all_readable(*log);
}

INSTANTIATE_TEST_SUITE_P(Indexes, RecycledSegmentTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "WithIndexes" : "NoIndexes"; });

}  // namespace

namespace {

// [disk-full] Spares are room held for later rolls: a write that finds the
// disk full gets it back, and the producer's retry fits.
TEST(RecycledSegmentDiskFull, AFullDiskDeletesTheSparesAndTheRetryFits) {
  keel::test::SmallFs small(1 << 20);
  if (!small.mounted()) GTEST_SKIP() << small.why_not();
  keel::ManualClock clock(1'700'000'000'000);
  LogOptions options;
  options.segment_bytes = 2048;
  options.recycle_segments = true;
  PartitionLog log("orders", 0, small.sub("orders-0"), options, &clock);
  log.open(true, 0);
  while (log.segment_count() < 5) {
    const std::string b = make_batch(2, "a");
    log.append(reinterpret_cast<const uint8_t*>(b.data()), b.size());
  }
  ASSERT_EQ(log.delete_oldest(4), 4);
  ASSERT_EQ(spare_files_in(small.sub("orders-0")).size(), 4u);

  // The next batch fits the active segment (no roll, so no spare taken)
  // but needs new blocks, and there are none.
  auto live = log.live_options();
  live.segment_bytes = 1 << 20;
  log.set_live_options(live);
  ASSERT_TRUE(small.fill());
  const std::string big = make_batch(80, std::string(100, 'x'));
  ASSERT_GT(big.size(), 8192u);
  const int64_t end = log.log_end_offset();
  EXPECT_EQ(error_of([&] { log.append(reinterpret_cast<const uint8_t*>(big.data()), big.size()); }).code(),
            KEEL_ERR_NO_SPACE);
  EXPECT_EQ(log.log_end_offset(), end);
  EXPECT_TRUE(spare_files_in(small.sub("orders-0")).empty());
  EXPECT_EQ(log.append(reinterpret_cast<const uint8_t*>(big.data()), big.size()).base_offset, end);
}

}  // namespace
