// The built-in `sparse-mmap` offset index, loaded from its built library and
// driven through the C ABI the way a segment drives it.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "support/plugin_fixture.hpp"

namespace {

namespace fs = std::filesystem;
using keel::test::LoadedPlugin;
using keel::test::TestConfig;
using keel::test::TestHost;

constexpr int64_t kBase = 1000;
constexpr int32_t kBatchBytes = 60;
constexpr int64_t kRecordsPerBatch = 10;
constexpr int64_t kTenBatches = 10 * kBatchBytes;

// Batch i of the test log: 60 bytes at position 60*i holding offsets
// 1000+10i .. 1000+10i+9. With interval_bytes = 100, entries land on the
// batches at 120, 240, 360 and 480.
keel_batch_info batch(int i) {
  return {sizeof(keel_batch_info),          kBase + kRecordsPerBatch * i,
          kBase + kRecordsPerBatch * i + 9, 5000 + i,
          int64_t{kBatchBytes} * i,         kBatchBytes};
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void spill(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string be_entry(uint32_t relative, uint32_t position) {
  std::string s(8, '\0');
  for (int i = 0; i < 4; ++i) {
    s[i] = static_cast<char>(relative >> (24 - 8 * i));
    s[4 + i] = static_cast<char>(position >> (24 - 8 * i));
  }
  return s;
}

class SparseMmapIndexTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    dir_ = fs::temp_directory_path() /
           ("keel-sparse-index-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
    fs::create_directories(dir_);
    prefix_ = (dir_ / "00000000000000001000").string();
  }
  void TearDown() override {
    close();
    fs::remove_all(dir_);
  }

  keel_status open(int64_t log_size, bool writable = true, const std::string& toml = "interval_bytes = 100") {
    close();
    config_ = std::make_unique<TestConfig>(toml);
    keel_index_open_args args{
        sizeof(keel_index_open_args), prefix_.c_str(), kBase, log_size, writable ? 1 : 0, config_->get()};
    keel_error err{};
    keel_status s = vt_->open(host_.get(), &args, &index_, &err);
    message_ = err.message;
    if (s != KEEL_OK) index_ = nullptr;
    return s;
  }
  void close(bool remove = false) {
    if (index_ != nullptr) vt_->close(index_, remove ? 1 : 0);
    index_ = nullptr;
  }
  void append(int from, int to) {
    for (int i = from; i < to; ++i) {
      keel_batch_info b = batch(i);
      keel_error err{};
      ASSERT_EQ(vt_->on_append(index_, &b, &err), KEEL_OK) << err.message;
    }
  }
  // The test log's batches from `position` on, as a recovering segment does.
  void replay_from(int64_t position, int batches = 10) {
    append(static_cast<int>(position / kBatchBytes), batches);
  }

  keel_index_entry lookup(int64_t offset) {
    keel_index_entry e{sizeof(keel_index_entry), -7, -7, -7};
    EXPECT_EQ(vt_->lookup_offset(index_, offset, &e), KEEL_OK);
    return e;
  }
  // Where a read of each offset of the ten-batch log would start scanning.
  std::vector<int64_t> scan_starts() {
    std::vector<int64_t> out;
    for (int64_t o = kBase; o < kBase + 10 * kRecordsPerBatch; ++o) out.push_back(lookup(o).position);
    return out;
  }
  int64_t entries() { return vt_->entry_count(index_); }
  int64_t recovery() { return vt_->recovery_position(index_); }
  fs::path file() const { return prefix_ + ".index"; }

  void build_ten_batches() {
    ASSERT_EQ(open(0), KEEL_OK) << message_;
    append(0, 10);
  }

  LoadedPlugin plugin_{"index", "sparse-mmap"};
  const keel_index_vtable* vt_ = plugin_.vtable<keel_index_vtable>();
  TestHost host_;
  std::unique_ptr<TestConfig> config_;
  keel_index* index_ = nullptr;
  std::string message_;
  fs::path dir_;
  std::string prefix_;
};

void expect_entry(const keel_index_entry& e, int64_t offset, int64_t position) {
  EXPECT_EQ(e.offset, offset);
  EXPECT_EQ(e.position, position);
  EXPECT_EQ(e.timestamp, -1);
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
  keel_error err{};
  EXPECT_EQ(vt_->flush(index_, &err), KEEL_OK) << err.message;
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
  keel_error err{};
  ASSERT_EQ(vt_->truncate(index_, 361, &err), KEEL_OK) << err.message;
  EXPECT_EQ(entries(), 3);
  ASSERT_EQ(vt_->truncate(index_, 240, &err), KEEL_OK) << err.message;
  EXPECT_EQ(entries(), 1);
  EXPECT_EQ(recovery(), 120);
  expect_entry(lookup(1099), 1020, 120);
  append(4, 10);
  EXPECT_EQ(entries(), 4);
  EXPECT_EQ(scan_starts(), kExpectedStarts);
}

TEST_F(SparseMmapIndexTest, TruncatedEntriesStayGoneAfterReopen) {
  build_ten_batches();
  keel_error err{};
  ASSERT_EQ(vt_->truncate(index_, 240, &err), KEEL_OK) << err.message;
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
  ASSERT_EQ(open(kTenBatches), KEEL_OK) << message_;
  EXPECT_EQ(entries(), 2);
  EXPECT_EQ(recovery(), 240);
  replay_from(recovery());
  close();
  EXPECT_EQ(slurp(file()), good);
}

TEST_F(SparseMmapIndexTest, MissingFileForANonEmptyLogIsRebuiltIdentically) {
  build_ten_batches();
  close();
  const std::string original = slurp(file());
  fs::remove(file());
  ASSERT_EQ(open(kTenBatches), KEEL_OK) << message_;
  EXPECT_EQ(entries(), 0);
  EXPECT_EQ(recovery(), 0);
  replay_from(recovery());
  close();
  EXPECT_EQ(slurp(file()), original);
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

TEST_F(SparseMmapIndexTest, PreallocatesMaxIndexBytesAndSealTrims) {
  build_ten_batches();
  EXPECT_EQ(fs::file_size(file()), 10u * 1024 * 1024);
  keel_error err{};
  ASSERT_EQ(vt_->seal(index_, &err), KEEL_OK) << err.message;
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
  ASSERT_TRUE(fs::exists(file()));
  close(true);
  EXPECT_FALSE(fs::exists(file()));
}

TEST_F(SparseMmapIndexTest, WrongTypedSettingFailsOpenWithAMessage) {
  EXPECT_NE(open(0, true, "interval_bytes = \"x\""), KEEL_OK);
  EXPECT_EQ(index_, nullptr);
  EXPECT_NE(message_.find("interval_bytes"), std::string::npos) << message_;
  ASSERT_FALSE(config_->problems().empty());
  EXPECT_NE(config_->problems()[0].find("interval_bytes"), std::string::npos);
  EXPECT_FALSE(fs::exists(file())) << "a bad setting must not leave a file behind";
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
    keel_index_entry e{sizeof e, -1, -1, -1};
    if (vt_->lookup_offset(index_, target, &e) != KEEL_OK) ++bad;
    // Whatever has been indexed so far, the answer is a batch start at or
    // before the target.
    if (e.offset > target || e.position != (e.offset - kBase) / kRecordsPerBatch * kBatchBytes) ++bad;
  }
  writer.join();
  EXPECT_EQ(bad, 0);
  EXPECT_EQ(entries(), kBatches - 1);
}

}  // namespace
