// The built-in `timestamp` time index, loaded from its built library and
// driven through the C ABI the way a segment drives it.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
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

// Batch i of the test log: 60 bytes at position 60*i holding offsets
// 1000+10i .. 1000+10i+9, with the given max timestamp.
keel_batch_info batch(int i, int64_t max_timestamp) {
  return {sizeof(keel_batch_info), kBase + kRecordsPerBatch * i, kBase + kRecordsPerBatch * i + 9,
          max_timestamp,           int64_t{kBatchBytes} * i,     kBatchBytes};
}

// Rising timestamps 1000, 2000, ...: with interval_bytes = 100 the entries
// are (3000 @ 120), (5000 @ 240), (7000 @ 360), (9000 @ 480).
std::vector<int64_t> rising(int n) {
  std::vector<int64_t> ts;
  for (int i = 0; i < n; ++i) ts.push_back(1000 * (i + 1));
  return ts;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void spill(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
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

void expect_entry(const keel_index_entry& e, int64_t offset, int64_t position, int64_t timestamp) {
  EXPECT_EQ(e.offset, offset);
  EXPECT_EQ(e.position, position);
  EXPECT_EQ(e.timestamp, timestamp);
}

class TimestampIndexTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    dir_ = fs::temp_directory_path() /
           ("keel-time-index-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
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
  // Appends batches [from, to) of the log whose timestamps are `ts`.
  void append(const std::vector<int64_t>& ts, size_t from, size_t to) {
    for (size_t i = from; i < to; ++i) {
      keel_batch_info b = batch(static_cast<int>(i), ts[i]);
      keel_error err{};
      ASSERT_EQ(vt_->on_append(index_, &b, &err), KEEL_OK) << err.message;
    }
  }
  void append(const std::vector<int64_t>& ts) { append(ts, 0, ts.size()); }
  void replay_from(int64_t position, const std::vector<int64_t>& ts) {
    append(ts, static_cast<size_t>(position / kBatchBytes), ts.size());
  }

  keel_index_entry lookup(int64_t timestamp) {
    keel_index_entry e{sizeof(keel_index_entry), -7, -7, -7};
    EXPECT_EQ(vt_->lookup_time(index_, timestamp, &e), KEEL_OK);
    return e;
  }
  int64_t entries() { return vt_->entry_count(index_); }
  int64_t recovery() { return vt_->recovery_position(index_); }
  fs::path file() const { return prefix_ + ".timeindex"; }
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

  LoadedPlugin plugin_{"index", "timestamp"};
  const keel_index_vtable* vt_ = plugin_.vtable<keel_index_vtable>();
  TestHost host_;
  std::unique_ptr<TestConfig> config_;
  keel_index* index_ = nullptr;
  std::string message_;
  fs::path dir_;
  std::string prefix_;
};

const std::string kRisingEntries =
    be_entry(3000, 20, 120) + be_entry(5000, 40, 240) + be_entry(7000, 60, 360) + be_entry(9000, 80, 480);

TEST_F(TimestampIndexTest, DeclaresTimeLookupOnly) {
  EXPECT_EQ(vt_->capabilities, KEEL_INDEX_CAN_LOOKUP_TIME);
  ASSERT_EQ(open(0), KEEL_OK) << message_;
  keel_index_entry e{};
  EXPECT_EQ(vt_->lookup_offset(index_, kBase, &e), KEEL_ERR_UNSUPPORTED);
}

TEST_F(TimestampIndexTest, NewSegmentStartsEmptyAndRecoversFromZero) {
  ASSERT_EQ(open(0), KEEL_OK) << message_;
  EXPECT_EQ(entries(), 0);
  EXPECT_EQ(recovery(), 0);
  expect_entry(lookup(12345), kBase, 0, -1);
}

TEST_F(TimestampIndexTest, EntriesFollowTheRunningMaximumEveryIntervalBytes) {
  ASSERT_EQ(open(0), KEEL_OK) << message_;
  append(rising(10));
  EXPECT_EQ(entries(), 4);
  EXPECT_EQ(recovery(), 480);
  keel_error err{};
  EXPECT_EQ(vt_->flush(index_, &err), KEEL_OK) << err.message;
  EXPECT_EQ(slurp(file()).substr(0, 80), kRisingEntries + std::string(16, '\0'));
}

TEST_F(TimestampIndexTest, LookupTakesTheLastEntryStrictlyOlderThanTheTime) {
  ASSERT_EQ(open(0), KEEL_OK) << message_;
  append(rising(10));
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
  const auto ts = rising(10);
  ASSERT_EQ(open(0), KEEL_OK) << message_;
  append(ts);
  close();
  EXPECT_EQ(fs::file_size(file()), 64u);
  ASSERT_EQ(open(log_size(ts)), KEEL_OK) << message_;
  EXPECT_EQ(entries(), 4);
  EXPECT_EQ(recovery(), 480);
  expect_entry(lookup(9001), 1080, 480, 9000);
  replay_from(recovery(), ts);
  EXPECT_EQ(entries(), 4) << "replaying indexed batches adds nothing";
  close();
  EXPECT_EQ(slurp(file()), kRisingEntries);
}

TEST_F(TimestampIndexTest, ReopenWithAShorterLogDropsLaterEntries) {
  const auto ts = rising(10);
  ASSERT_EQ(open(0), KEEL_OK) << message_;
  append(ts);
  close();
  ASSERT_EQ(open(300), KEEL_OK) << message_;
  EXPECT_EQ(entries(), 2);
  EXPECT_EQ(recovery(), 240);
  expect_entry(lookup(INT64_MAX), 1040, 240, 5000);
  replay_from(recovery(), ts);
  close();
  EXPECT_EQ(slurp(file()), kRisingEntries);
}

TEST_F(TimestampIndexTest, TruncateThenReplayRebuildsTheSameEntries) {
  const auto ts = rising(10);
  ASSERT_EQ(open(0), KEEL_OK) << message_;
  append(ts);
  keel_error err{};
  ASSERT_EQ(vt_->truncate(index_, 300, &err), KEEL_OK) << err.message;
  EXPECT_EQ(entries(), 2);
  EXPECT_EQ(recovery(), 240);
  expect_entry(lookup(INT64_MAX), 1040, 240, 5000);
  replay_from(recovery(), ts);
  EXPECT_EQ(entries(), 4);
  close();
  EXPECT_EQ(slurp(file()), kRisingEntries);
}

TEST_F(TimestampIndexTest, TruncateWithoutReplayStopsIndexingButStaysSound) {
  const auto ts = rising(10);
  ASSERT_EQ(open(0), KEEL_OK) << message_;
  append(ts);
  keel_error err{};
  ASSERT_EQ(vt_->truncate(index_, 300, &err), KEEL_OK) << err.message;
  // The batch at 300 follows a gap (240..300 was never replayed): the index
  // cannot know the maximum there, so it adds nothing rather than guess.
  std::vector<int64_t> rewritten = ts;
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
  keel_error err{};
  ASSERT_EQ(vt_->truncate(index_, 180, &err), KEEL_OK) << err.message;
  ts = {100, 200, 300, 320, -1};
  append(ts, 3, 5);
  EXPECT_EQ(entries(), 2);
  expect_entry(lookup(INT64_MAX), 1030, 180, 320);
  expect_sound_lookups(ts);
}

TEST_F(TimestampIndexTest, ZeroFilledFileHoldsNoEntries) {
  spill(file(), std::string(4096, '\0'));
  const auto ts = rising(10);
  ASSERT_EQ(open(log_size(ts)), KEEL_OK) << message_;
  EXPECT_EQ(entries(), 0);
  EXPECT_EQ(recovery(), 0);
  replay_from(0, ts);
  close();
  EXPECT_EQ(slurp(file()), kRisingEntries);
}

TEST_F(TimestampIndexTest, FileCutMidEntryKeepsTheWholeEntries) {
  spill(file(), kRisingEntries.substr(0, 16 * 3 + 9));
  const auto ts = rising(10);
  ASSERT_EQ(open(log_size(ts)), KEEL_OK) << message_;
  EXPECT_EQ(entries(), 3);
  EXPECT_EQ(recovery(), 360);
  replay_from(recovery(), ts);
  close();
  EXPECT_EQ(slurp(file()), kRisingEntries);
}

TEST_F(TimestampIndexTest, GarbageAfterValidEntriesIsDroppedAndRebuilt) {
  const auto ts = rising(10);
  // Entry 2 goes back in time; entry 3 would be fine on its own.
  spill(file(), kRisingEntries.substr(0, 32) + be_entry(4000, 60, 360) + kRisingEntries.substr(48));
  ASSERT_EQ(open(log_size(ts)), KEEL_OK) << message_;
  EXPECT_EQ(entries(), 2);
  EXPECT_EQ(recovery(), 240);
  replay_from(recovery(), ts);
  close();
  EXPECT_EQ(slurp(file()), kRisingEntries);
}

TEST_F(TimestampIndexTest, MissingFileForANonEmptyLogStartsFromZero) {
  const auto ts = rising(10);
  ASSERT_EQ(open(log_size(ts)), KEEL_OK) << message_;
  EXPECT_EQ(entries(), 0);
  EXPECT_EQ(recovery(), 0);
  replay_from(0, ts);
  close();
  EXPECT_EQ(slurp(file()), kRisingEntries);
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

TEST_F(TimestampIndexTest, PreallocatesMaxIndexBytesAndSealTrims) {
  const auto ts = rising(12);
  ASSERT_EQ(open(0), KEEL_OK) << message_;
  append(ts, 0, 10);
  EXPECT_EQ(fs::file_size(file()), 10u * 1024 * 1024);
  keel_error err{};
  ASSERT_EQ(vt_->seal(index_, &err), KEEL_OK) << err.message;
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
  ASSERT_EQ(open(0), KEEL_OK) << message_;
  append(rising(10));
  ASSERT_TRUE(fs::exists(file()));
  close(true);
  EXPECT_FALSE(fs::exists(file()));
}

TEST_F(TimestampIndexTest, WrongTypedSettingFailsOpenWithAMessage) {
  EXPECT_NE(open(0, true, "max_index_bytes = \"x\""), KEEL_OK);
  EXPECT_EQ(index_, nullptr);
  EXPECT_NE(message_.find("max_index_bytes"), std::string::npos) << message_;
  ASSERT_FALSE(config_->problems().empty());
  EXPECT_FALSE(fs::exists(file()));
}

}  // namespace
