// The built-in `timestamp` time index, loaded from its built library and
// driven through the C ABI the way a segment drives it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "support/index_fixture.hpp"

namespace {

namespace fs = std::filesystem;
using namespace keel::test::index_test;
using keel::test::SmallFs;

// Rising timestamps 1000, 2000, ...: with interval_bytes = 100 the entries
// are (3000 @ 120), (5000 @ 240), (7000 @ 360), (9000 @ 480).
std::vector<int64_t> rising(int n) {
  std::vector<int64_t> ts;
  for (int i = 0; i < n; ++i) ts.push_back(1000 * (i + 1));
  return ts;
}

std::string be_entry(uint64_t timestamp, uint32_t relative, uint32_t position) {
  std::string s(16, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>(timestamp >> (56 - 8 * i));
  for (int i = 0; i < 4; ++i) {
    s[8 + i] = static_cast<char>(relative >> (24 - 8 * i));
    s[12 + i] = static_cast<char>(position >> (24 - 8 * i));
  }
  return s;
}

const std::string kRisingEntries =
    be_entry(3000, 20, 120) + be_entry(5000, 40, 240) + be_entry(7000, 60, 360) + be_entry(9000, 80, 480);

class TimestampIndexTest : public IndexFixture {
 protected:
  TimestampIndexTest() : IndexFixture("timestamp", ".timeindex") {}

  // Appends batches [from, to) of the log whose timestamps are `ts`.
  void append(const std::vector<int64_t>& ts, size_t from, size_t to) {
    append_batches(static_cast<int>(from), static_cast<int>(to), [&](int i) { return ts[i]; });
  }
  void append(const std::vector<int64_t>& ts) { append(ts, 0, ts.size()); }
  void replay_from(int64_t position, const std::vector<int64_t>& ts) {
    append(ts, static_cast<size_t>(position / kBatchBytes), ts.size());
  }
  void replay_from_recovery() override { replay_from(recovery(), rising(10)); }
  // What is left of the rising log's index once the log is cut at 300.
  void expect_cut_at_300() {
    EXPECT_EQ(entries(), 2);
    EXPECT_EQ(recovery(), 240);
    expect_entry(lookup(INT64_MAX), 1040, 240, 5000);
  }
  // The ten-batch log with rising timestamps, indexed as a new segment.
  void build_rising() {
    ASSERT_EQ(open(0), KEEL_OK) << message_;
    append(rising(10));
  }

  keel_index_entry lookup(int64_t timestamp) { return lookup_with(vt_->lookup_time, timestamp); }
  int64_t log_size(const std::vector<int64_t>& ts) const {
    return static_cast<int64_t>(ts.size()) * kBatchBytes;
  }

  // What the kernel relies on: every batch before the answer's position is
  // older than the asked time, and the answer is a batch start.
  void expect_sound_lookups(const std::vector<int64_t>& ts) {
    std::vector<int64_t> probes = {INT64_MIN, -1, 0, 1, INT64_MAX};
    for (int64_t t : ts) probes.insert(probes.end(), {t - 1, t, t + 1});
    for (int64_t probe : probes) {
      const keel_index_entry e = lookup(probe);
      ASSERT_EQ(e.position % kBatchBytes, 0) << "probe " << probe;
      const size_t at = static_cast<size_t>(e.position / kBatchBytes);
      ASSERT_LT(at, ts.size());
      EXPECT_EQ(e.offset, kBase + kRecordsPerBatch * static_cast<int64_t>(at));
      for (size_t j = 0; j < at; ++j)
        EXPECT_LT(ts[j], probe) << "batch " << j << " skipped for probe " << probe;
      if (e.timestamp != -1) {
        EXPECT_LT(e.timestamp, probe);
        EXPECT_EQ(ts[at], e.timestamp);
      }
    }
  }
};

TEST_F(TimestampIndexTest, DeclaresTimeLookupOnly) {
  EXPECT_EQ(vt_->capabilities, KEEL_INDEX_CAN_LOOKUP_TIME);
  ASSERT_EQ(open(0), KEEL_OK) << message_;
  keel_index_entry e{};
  e.struct_size = sizeof e;
  keel_error err{};
  EXPECT_EQ(vt_->lookup_offset(index_, kBase, &e, &err), KEEL_ERR_UNSUPPORTED);
  EXPECT_THAT(err.message, testing::HasSubstr("cannot look up offsets"));
}

TEST_F(TimestampIndexTest, NewSegmentStartsEmptyAndRecoversFromZero) {
  ASSERT_EQ(open(0), KEEL_OK) << message_;
  EXPECT_EQ(entries(), 0);
  EXPECT_EQ(recovery(), 0);
  expect_entry(lookup(12345), kBase, 0, -1);
}

TEST_F(TimestampIndexTest, EntriesFollowTheRunningMaximumEveryIntervalBytes) {
  build_rising();
  EXPECT_EQ(entries(), 4);
  EXPECT_EQ(recovery(), 480);
  EXPECT_EQ(flush(), KEEL_OK) << message_;
  EXPECT_EQ(slurp(file()).substr(0, 80), kRisingEntries + std::string(16, '\0'));
}

TEST_F(TimestampIndexTest, LookupTakesTheLastEntryStrictlyOlderThanTheTime) {
  build_rising();
  expect_entry(lookup(INT64_MIN), kBase, 0, -1);
  expect_entry(lookup(3000), kBase, 0, -1);  // before the first entry
  expect_entry(lookup(3001), 1020, 120, 3000);
  expect_entry(lookup(5000), 1020, 120, 3000);  // equal is not less
  expect_entry(lookup(5001), 1040, 240, 5000);
  expect_entry(lookup(6000), 1040, 240, 5000);  // between
  expect_entry(lookup(INT64_MAX), 1080, 480, 9000);
  expect_sound_lookups(rising(10));
}

TEST_F(TimestampIndexTest, BatchesWithoutTimestampsOnlyMovePositions) {
  ASSERT_EQ(open(0), KEEL_OK) << message_;
  const std::vector<int64_t> none(10, -1);
  append(none);
  EXPECT_EQ(entries(), 0);
  EXPECT_EQ(recovery(), 0);

  close(true);
  std::vector<int64_t> first_only(10, -1);
  first_only[0] = 500;
  ASSERT_EQ(open(0), KEEL_OK) << message_;
  append(first_only);
  EXPECT_EQ(entries(), 1) << "the first batch holds the maximum, indexed once 100 bytes passed";
  expect_entry(lookup(501), kBase, 0, 500);
  close();
  ASSERT_EQ(open(log_size(first_only)), KEEL_OK) << message_;
  EXPECT_EQ(entries(), 1) << "an entry at position 0 is a real entry, not the end mark";
  expect_entry(lookup(501), kBase, 0, 500);
}

TEST_F(TimestampIndexTest, NonMonotonicTimestampsIndexTheBatchThatReachedTheMaximum) {
  ASSERT_EQ(open(0), KEEL_OK) << message_;
  const std::vector<int64_t> ts = {100, 300, 200, 250, 400, 350, 150, 500};
  append(ts);
  EXPECT_EQ(entries(), 3);
  expect_entry(lookup(250), kBase, 0, -1);
  expect_entry(lookup(301), 1010, 60, 300);
  expect_entry(lookup(450), 1040, 240, 400);
  expect_entry(lookup(501), 1070, 420, 500);
  expect_sound_lookups(ts);
}

TEST_F(TimestampIndexTest, RandomTimestampsGiveSoundLookupsAndRebuildIdentically) {
  std::mt19937 rng(7);
  std::vector<int64_t> ts;
  for (int i = 0; i < 300; ++i)
    ts.push_back(rng() % 5 == 0 ? -1 : 1'700'000'000'000 + static_cast<int64_t>(rng() % 100000));
  ASSERT_EQ(open(0), KEEL_OK) << message_;
  append(ts);
  EXPECT_GT(entries(), 1);
  expect_sound_lookups(ts);
  close();
  const std::string original = slurp(file());

  fs::remove(file());
  ASSERT_EQ(open(log_size(ts)), KEEL_OK) << message_;
  EXPECT_EQ(recovery(), 0);
  replay_from(0, ts);
  close();
  EXPECT_EQ(slurp(file()), original);
}

TEST_F(TimestampIndexTest, TimestampZeroOnTheFirstBatchIsNotWrittenAsAnEntry) {
  ASSERT_EQ(open(0, true, "interval_bytes = 0"), KEEL_OK) << message_;
  const std::vector<int64_t> ts = {0, 5};
  append(ts, 0, 1);
  EXPECT_EQ(entries(), 0) << "(0, 0, 0) would read back as the end mark";
  expect_entry(lookup(1), kBase, 0, -1);
  append(ts, 1, 2);
  EXPECT_EQ(entries(), 1);
  close();
  ASSERT_EQ(open(log_size(ts), true, "interval_bytes = 0"), KEEL_OK) << message_;
  EXPECT_EQ(entries(), 1);
  expect_entry(lookup(6), 1010, 60, 5);
  expect_sound_lookups(ts);
}

TEST_F(TimestampIndexTest, ReopenRestoresEntriesAndTheRunningMaximum) {
  build_rising();
  close();
  EXPECT_EQ(fs::file_size(file()), 64u);
  ASSERT_EQ(open(kTenBatches), KEEL_OK) << message_;
  EXPECT_EQ(entries(), 4);
  EXPECT_EQ(recovery(), 480);
  expect_entry(lookup(9001), 1080, 480, 9000);
  replay_from_recovery();
  EXPECT_EQ(entries(), 4) << "replaying indexed batches adds nothing";
  close();
  EXPECT_EQ(slurp(file()), kRisingEntries);
}

TEST_F(TimestampIndexTest, ReopenWithAShorterLogDropsLaterEntries) {
  build_rising();
  close();
  ASSERT_EQ(open(300), KEEL_OK) << message_;
  expect_cut_at_300();
  replay_from_recovery();
  close();
  EXPECT_EQ(slurp(file()), kRisingEntries);
}

TEST_F(TimestampIndexTest, TruncateThenReplayRebuildsTheSameEntries) {
  build_rising();
  ASSERT_EQ(truncate(300), KEEL_OK) << message_;
  expect_cut_at_300();
  replay_from_recovery();
  EXPECT_EQ(entries(), 4);
  close();
  EXPECT_EQ(slurp(file()), kRisingEntries);
}

TEST_F(TimestampIndexTest, TruncateWithoutReplayStopsIndexingButStaysSound) {
  build_rising();
  ASSERT_EQ(truncate(300), KEEL_OK) << message_;
  // The batch at 300 follows a gap (240..300 was never replayed): the index
  // cannot know the maximum there, so it adds nothing rather than guess.
  std::vector<int64_t> rewritten = rising(10);
  rewritten[5] = 100;
  rewritten[6] = 20000;
  append(rewritten, 5, 10);
  EXPECT_EQ(entries(), 2);
  expect_sound_lookups(rewritten);
  close();
  ASSERT_EQ(open(log_size(rewritten)), KEEL_OK) << message_;
  replay_from(recovery(), rewritten);
  EXPECT_GT(entries(), 2);
  expect_sound_lookups(rewritten);
}

TEST_F(TimestampIndexTest, TruncateSinceTheLastEntryStepsTheMaximumBack) {
  ASSERT_EQ(open(0), KEEL_OK) << message_;
  std::vector<int64_t> ts = {100, 200, 300, 350};
  append(ts);
  EXPECT_EQ(entries(), 1);  // (300 @ 120); 350 @ 180 not yet 100 bytes later
  ASSERT_EQ(truncate(180), KEEL_OK) << message_;
  ts = {100, 200, 300, 320, -1};
  append(ts, 3, 5);
  EXPECT_EQ(entries(), 2);
  expect_entry(lookup(INT64_MAX), 1030, 180, 320);
  expect_sound_lookups(ts);
}

TEST_F(TimestampIndexTest, ZeroFilledFileHoldsNoEntries) {
  spill(file(), std::string(4096, '\0'));
  expect_recovery(0, 0, kRisingEntries);
}

TEST_F(TimestampIndexTest, FileCutMidEntryKeepsTheWholeEntries) {
  spill(file(), kRisingEntries.substr(0, 16 * 3 + 9));
  expect_recovery(3, 360, kRisingEntries);
}

TEST_F(TimestampIndexTest, GarbageAfterValidEntriesIsDroppedAndRebuilt) {
  // Entry 2 goes back in time; entry 3 would be fine on its own.
  spill(file(), kRisingEntries.substr(0, 32) + be_entry(4000, 60, 360) + kRisingEntries.substr(48));
  expect_recovery(2, 240, kRisingEntries);
}

TEST_F(TimestampIndexTest, MissingFileForANonEmptyLogStartsFromZero) {
  expect_recovery(0, 0, kRisingEntries);
}

TEST_F(TimestampIndexTest, GrowsPastMaxIndexBytes) {
  const auto ts = rising(100);
  ASSERT_EQ(open(0, true, "interval_bytes = 0\nmax_index_bytes = 32"), KEEL_OK) << message_;
  EXPECT_EQ(fs::file_size(file()), 32u);
  append(ts);
  EXPECT_EQ(entries(), 100);
  for (int i = 0; i < 100; ++i)
    expect_entry(lookup(ts[i] + 1), kBase + kRecordsPerBatch * i, kBatchBytes * i, ts[i]);
  close();
  EXPECT_EQ(fs::file_size(file()), 1600u);
}

TEST_F(TimestampIndexTest, BacksOnePageAheadAndSealTrims) {
  const auto ts = rising(12);
  ASSERT_EQ(open(0), KEEL_OK) << message_;
  append(ts, 0, 10);
  EXPECT_EQ(fs::file_size(file()), 4096u);
  EXPECT_GE(allocated_bytes(), 4096u) << "room ahead must be backed, not a hole";
  ASSERT_EQ(seal(), KEEL_OK) << message_;
  EXPECT_EQ(fs::file_size(file()), 64u);
  expect_entry(lookup(INT64_MAX), 1080, 480, 9000);
  append(ts, 10, 12);  // recovery may still replay into a sealed index
  EXPECT_EQ(entries(), 5);
  close();
  EXPECT_EQ(fs::file_size(file()), 80u);
  ASSERT_EQ(open(log_size(ts), false), KEEL_OK) << message_;
  EXPECT_EQ(fs::file_size(file()), 80u);
  EXPECT_EQ(entries(), 5);
}

TEST_F(TimestampIndexTest, CloseWithRemoveDeletesTheFile) {
  build_rising();
  expect_close_with_remove_deletes_the_file();
}

TEST_F(TimestampIndexTest, WrongTypedSettingFailsOpenWithAMessage) {
  expect_wrong_typed_setting_fails_open("max_index_bytes");
}

TEST_F(TimestampIndexTest, FullDiskIsAnErrorNotASignal) {
  SmallFs small(256 * 1024);
  if (!small.mounted()) GTEST_SKIP() << small.why_not();
  move_to(small.sub(""));
  ASSERT_EQ(open(0, true, "interval_bytes = 0"), KEEL_OK) << message_;
  ASSERT_TRUE(small.fill());
  // Rising timestamps: every batch raises the maximum, so each gets an entry.
  expect_full_disk_is_an_error(small, [](int i) { return int64_t{5000} + i; });
}

}  // namespace
