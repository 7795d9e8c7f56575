// The built-in `sparse-mmap` offset index, loaded from its built library and
// driven through the C ABI the way a segment drives it.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "support/index_fixture.hpp"

namespace {

namespace fs = std::filesystem;
using namespace keel::test::index_test;
using keel::test::SmallFs;

// Batch i of the test log: 60 bytes at position 60*i holding offsets
// 1000+10i .. 1000+10i+9. With interval_bytes = 100, entries land on the
// batches at 120, 240, 360 and 480.
keel_batch_info batch(int i) { return keel::test::index_test::batch(i, 5000 + i); }

std::string be_entry(uint32_t relative, uint32_t position) {
  std::string s(8, '\0');
  for (int i = 0; i < 4; ++i) {
    s[i] = static_cast<char>(relative >> (24 - 8 * i));
    s[4 + i] = static_cast<char>(position >> (24 - 8 * i));
  }
  return s;
}

class SparseMmapIndexTest : public IndexFixture {
 protected:
  SparseMmapIndexTest() : IndexFixture("sparse-mmap", ".index") {}

  void append(int from, int to) {
    append_batches(from, to, [](int i) { return batch(i).max_timestamp; });
  }
  // The test log's batches from `position` on, as a recovering segment does.
  void replay_from(int64_t position, int batches = 10) {
    append(static_cast<int>(position / kBatchBytes), batches);
  }
  void replay_from_recovery() override { replay_from(recovery()); }

  keel_index_entry lookup(int64_t offset) { return lookup_with(vt_->lookup_offset, offset); }
  // Where a read of each offset of the ten-batch log would start scanning.
  std::vector<int64_t> scan_starts() {
    std::vector<int64_t> out;
    for (int64_t o = kBase; o < kBase + 10 * kRecordsPerBatch; ++o) out.push_back(lookup(o).position);
    return out;
  }

  void build_ten_batches() {
    ASSERT_EQ(open(0), KEEL_OK) << message_;
    append(0, 10);
  }
};

void expect_entry(const keel_index_entry& e, int64_t offset, int64_t position) {
  keel::test::index_test::expect_entry(e, offset, position, -1);
}

const std::vector<int64_t> kExpectedStarts = [] {
  std::vector<int64_t> v;
  for (int64_t o = 0; o < 100; ++o) {
    int64_t batch_index = o / kRecordsPerBatch;
    v.push_back(batch_index < 2 ? 0 : (batch_index / 2) * 2 * kBatchBytes);
  }
  return v;
}();

TEST_F(SparseMmapIndexTest, DeclaresOffsetLookupOnly) {
  EXPECT_EQ(vt_->capabilities, KEEL_INDEX_CAN_LOOKUP_OFFSET);
  EXPECT_EQ(plugin_.descriptor()->abi_major, KEEL_ABI_MAJOR);
}

TEST_F(SparseMmapIndexTest, NewSegmentStartsEmptyAndRecoversFromZero) {
  ASSERT_EQ(open(0), KEEL_OK) << message_;
  EXPECT_EQ(entries(), 0);
  EXPECT_EQ(recovery(), 0);
  EXPECT_TRUE(fs::exists(file()));
  expect_entry(lookup(kBase + 5), kBase, 0);
}

TEST_F(SparseMmapIndexTest, AddsAnEntryEveryIntervalBytesButNeverForTheFirstBatch) {
  ASSERT_EQ(open(0), KEEL_OK) << message_;
  append(0, 2);
  EXPECT_EQ(entries(), 0) << "120 bytes appended, but the batch at 0 is never indexed and 60 < 100";
  append(2, 10);
  EXPECT_EQ(entries(), 4);
  EXPECT_EQ(recovery(), 480);
  EXPECT_EQ(flush(), KEEL_OK) << message_;
  std::string bytes = slurp(file()).substr(0, 40);
  EXPECT_EQ(bytes, be_entry(20, 120) + be_entry(40, 240) + be_entry(60, 360) + be_entry(80, 480) +
                       std::string(8, '\0'));
}

TEST_F(SparseMmapIndexTest, LookupBeforeTheFirstEntryStartsAtTheSegmentStart) {
  build_ten_batches();
  expect_entry(lookup(kBase - 5), kBase, 0);
  expect_entry(lookup(kBase), kBase, 0);
  expect_entry(lookup(kBase + 19), kBase, 0);
}

TEST_F(SparseMmapIndexTest, LookupFindsTheLargestEntryAtOrBeforeTheOffset) {
  build_ten_batches();
  expect_entry(lookup(1020), 1020, 120);  // exact
  expect_entry(lookup(1039), 1020, 120);  // between entries
  expect_entry(lookup(1040), 1040, 240);
  expect_entry(lookup(1099), 1080, 480);  // after the last
  expect_entry(lookup(INT64_MAX), 1080, 480);
  EXPECT_EQ(scan_starts(), kExpectedStarts);
}

TEST_F(SparseMmapIndexTest, ReopenAfterCloseGivesTheSameLookups) {
  build_ten_batches();
  close();
  EXPECT_EQ(fs::file_size(file()), 32u) << "close trims the preallocated tail";
  ASSERT_EQ(open(kTenBatches), KEEL_OK) << message_;
  EXPECT_EQ(entries(), 4);
  EXPECT_EQ(recovery(), 480);
  EXPECT_EQ(scan_starts(), kExpectedStarts);
}

TEST_F(SparseMmapIndexTest, ReopenWithAShorterLogDropsLaterEntries) {
  build_ten_batches();
  close();
  ASSERT_EQ(open(300), KEEL_OK) << message_;
  EXPECT_EQ(entries(), 2);
  EXPECT_EQ(recovery(), 240);
  expect_entry(lookup(1099), 1040, 240);
  replay_from(recovery());
  EXPECT_EQ(entries(), 4);
  EXPECT_EQ(scan_starts(), kExpectedStarts);
}

TEST_F(SparseMmapIndexTest, TruncateDropsEntriesAtOrBeyondTheNewEnd) {
  build_ten_batches();
  ASSERT_EQ(truncate(361), KEEL_OK) << message_;
  EXPECT_EQ(entries(), 3);
  ASSERT_EQ(truncate(240), KEEL_OK) << message_;
  EXPECT_EQ(entries(), 1);
  EXPECT_EQ(recovery(), 120);
  expect_entry(lookup(1099), 1020, 120);
  append(4, 10);
  EXPECT_EQ(entries(), 4);
  EXPECT_EQ(scan_starts(), kExpectedStarts);
}

TEST_F(SparseMmapIndexTest, TruncatedEntriesStayGoneAfterReopen) {
  build_ten_batches();
  ASSERT_EQ(truncate(240), KEEL_OK) << message_;
  close();
  ASSERT_EQ(open(kTenBatches), KEEL_OK) << message_;
  EXPECT_EQ(entries(), 1);
}

TEST_F(SparseMmapIndexTest, ZeroFilledFileHoldsNoEntries) {
  spill(file(), std::string(4096, '\0'));
  ASSERT_EQ(open(kTenBatches), KEEL_OK) << message_;
  EXPECT_EQ(entries(), 0);
  EXPECT_EQ(recovery(), 0);
  replay_from(0);
  EXPECT_EQ(entries(), 4);
  EXPECT_EQ(scan_starts(), kExpectedStarts);
}

TEST_F(SparseMmapIndexTest, FileCutMidEntryKeepsTheWholeEntries) {
  build_ten_batches();
  close();
  fs::resize_file(file(), 29);
  ASSERT_EQ(open(kTenBatches), KEEL_OK) << message_;
  EXPECT_EQ(entries(), 3);
  EXPECT_EQ(recovery(), 360);
  replay_from(recovery());
  EXPECT_EQ(entries(), 4);
  EXPECT_EQ(scan_starts(), kExpectedStarts);
}

TEST_F(SparseMmapIndexTest, GarbageAfterValidEntriesIsDroppedAndRebuilt) {
  build_ten_batches();
  close();
  const std::string good = slurp(file());
  std::string damaged = good;
  damaged.replace(16, 8, be_entry(5, 50));  // goes backwards
  spill(file(), damaged + be_entry(0xffffffffu, 0xffffffffu));
  expect_recovery(2, 240, good);
}

TEST_F(SparseMmapIndexTest, MissingFileForANonEmptyLogIsRebuiltIdentically) {
  build_ten_batches();
  close();
  const std::string original = slurp(file());
  fs::remove(file());
  expect_recovery(0, 0, original);
}

TEST_F(SparseMmapIndexTest, ReplayingIndexedBatchesAddsNothing) {
  build_ten_batches();
  append(0, 10);
  EXPECT_EQ(entries(), 4);
  close();
  const std::string original = slurp(file());
  ASSERT_EQ(open(kTenBatches), KEEL_OK) << message_;
  replay_from(0);
  EXPECT_EQ(entries(), 4);
  close();
  EXPECT_EQ(slurp(file()), original);
}

TEST_F(SparseMmapIndexTest, GrowsPastMaxIndexBytes) {
  ASSERT_EQ(open(0, true, "interval_bytes = 0\nmax_index_bytes = 64"), KEEL_OK) << message_;
  EXPECT_EQ(fs::file_size(file()), 64u);
  append(0, 100);
  EXPECT_EQ(entries(), 99);
  EXPECT_GE(fs::file_size(file()), 99u * 8);
  for (int i = 1; i < 100; ++i)
    expect_entry(lookup(kBase + kRecordsPerBatch * i + 3), batch(i).base_offset, batch(i).position);
  close();
  ASSERT_EQ(open(100 * kBatchBytes, true, "interval_bytes = 0\nmax_index_bytes = 64"), KEEL_OK) << message_;
  EXPECT_EQ(entries(), 99);
  expect_entry(lookup(INT64_MAX), batch(99).base_offset, batch(99).position);
}

TEST_F(SparseMmapIndexTest, BacksOnePageAheadAndSealTrims) {
  build_ten_batches();
  EXPECT_EQ(fs::file_size(file()), 4096u);
  EXPECT_GE(allocated_bytes(), 4096u) << "room ahead must be backed, not a hole";
  ASSERT_EQ(seal(), KEEL_OK) << message_;
  EXPECT_EQ(fs::file_size(file()), 32u);
  EXPECT_EQ(scan_starts(), kExpectedStarts);
  // Recovery may still replay into a sealed index.
  append(10, 12);
  EXPECT_EQ(entries(), 5);
  expect_entry(lookup(1105), 1100, 600);
  close();
  EXPECT_EQ(fs::file_size(file()), 40u);
}

TEST_F(SparseMmapIndexTest, SealedSegmentOpensWithoutPreallocation) {
  build_ten_batches();
  close();
  ASSERT_EQ(open(kTenBatches, false), KEEL_OK) << message_;
  EXPECT_EQ(fs::file_size(file()), 32u);
  EXPECT_EQ(scan_starts(), kExpectedStarts);
}

TEST_F(SparseMmapIndexTest, CloseWithRemoveDeletesTheFile) {
  build_ten_batches();
  expect_close_with_remove_deletes_the_file();
}

TEST_F(SparseMmapIndexTest, WrongTypedSettingFailsOpenWithAMessage) {
  expect_wrong_typed_setting_fails_open("interval_bytes");
}

TEST_F(SparseMmapIndexTest, NegativeIntervalIsRejected) {
  EXPECT_EQ(open(0, true, "interval_bytes = -1"), KEEL_ERR_INVALID_ARGUMENT);
  EXPECT_NE(message_.find("interval_bytes"), std::string::npos) << message_;
}

TEST_F(SparseMmapIndexTest, LookupsRunConcurrentlyWithAppendsAndGrowth) {
  ASSERT_EQ(open(0, true, "interval_bytes = 0\nmax_index_bytes = 8"), KEEL_OK) << message_;
  constexpr int kBatches = 3000;
  std::atomic<bool> done{false};
  std::thread writer([&] {
    append(0, kBatches);
    done = true;
  });
  std::mt19937 rng(42);
  int64_t bad = 0;
  for (int rounds = 0; !done || rounds < 1000; ++rounds) {
    const int64_t target = kBase + static_cast<int64_t>(rng() % (kBatches * kRecordsPerBatch));
    keel_index_entry e{.struct_size = sizeof e, .reserved = 0, .offset = -1, .position = -1, .timestamp = -1};
    if (vt_->lookup_offset(index_, target, &e, nullptr) != KEEL_OK) ++bad;
    // Whatever has been indexed so far, the answer is a batch start at or
    // before the target.
    if (e.offset > target || e.position != (e.offset - kBase) / kRecordsPerBatch * kBatchBytes) ++bad;
  }
  writer.join();
  EXPECT_EQ(bad, 0);
  EXPECT_EQ(entries(), kBatches - 1);
}

TEST_F(SparseMmapIndexTest, GrowthIsBackedAndStepsAtMostMaxIndexBytes) {
  ASSERT_EQ(open(0, true, "interval_bytes = 0\nmax_index_bytes = 8192"), KEEL_OK) << message_;
  // Batch 0, at position 0, takes no entry: batch n takes entry n - 1.
  append(0, 514);  // one entry more than the first page holds
  EXPECT_EQ(fs::file_size(file()), 8192u) << "doubled";
  append(514, 1026);
  EXPECT_EQ(fs::file_size(file()), 16384u) << "doubled";
  append(1026, 2050);
  EXPECT_EQ(fs::file_size(file()), 24576u) << "by max_index_bytes, not doubled";
  EXPECT_GE(allocated_bytes(), 24576u);
}

TEST_F(SparseMmapIndexTest, FullDiskIsAnErrorNotASignal) {
  SmallFs small(256 * 1024);
  if (!small.mounted()) GTEST_SKIP() << small.why_not();
  move_to(small.sub(""));
  ASSERT_EQ(open(0, true, "interval_bytes = 0"), KEEL_OK) << message_;
  ASSERT_TRUE(small.fill());
  expect_full_disk_is_an_error(small, [](int i) { return batch(i).max_timestamp; });
}

TEST_F(SparseMmapIndexTest, OpensWritableOnAFullDisk) {
  SmallFs small(256 * 1024);
  if (!small.mounted()) GTEST_SKIP() << small.why_not();
  ASSERT_TRUE(small.fill());
  move_to(small.sub(""));
  // No room ahead: the open still works, the first entry is refused.
  ASSERT_EQ(open(0, true, "interval_bytes = 0"), KEEL_OK) << message_;
  append(0, 1);  // position 0: no entry
  keel_batch_info b = batch(1);
  keel_error err{};
  EXPECT_EQ(vt_->on_append(index_, &b, &err), KEEL_ERR_NO_SPACE);
  small.free_filler();
  append(1, 10);
  EXPECT_EQ(entries(), 9);
}

}  // namespace
