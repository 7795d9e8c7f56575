// Recovery of a partition's log after crashes and damage: torn tails, flipped
// bytes, missing or damaged index files. Each case starts from a snapshot of
// a log written by a "crashed" process (the PartitionLog destroyed without
// close()), damages a copy and reopens it; the log must end at the last
// whole valid batch, keep every batch before it byte for byte, and take
// appends at the right offset. Damage that is not a torn tail is covered by
// damage_quarantine_test.cpp.
#include "support/recovery_fixture.hpp"

namespace {

using namespace keel::test;

TEST_P(RecoveryTest, CrashWithoutDamageKeepsEverything) {
  write_log(12, /*clean=*/false);
  restore();
  auto log = open_log(false);
  expect_recovered(*log, stored_.size(), "no damage");
}

TEST_P(RecoveryTest, TornLastBatchIsCutAtEveryByte) {
  write_log(12, false);
  const Stored& last = stored_.back();
  const auto last_size = static_cast<int64_t>(last.bytes.size());
  for (int64_t cut = last.position; cut < last.position + last_size; ++cut) {
    restore();
    truncate_file(last.segment, cut);
    auto log = open_log(false);
    expect_recovered(*log, stored_.size() - 1, "cut at " + std::to_string(cut));
  }
}

TEST_P(RecoveryTest, TornEarlierBatchesKeepWhatPrecedesThem) {
  write_log(12, false);
  for (size_t k : {size_t{0}, size_t{1}, size_t{5}, size_t{9}}) {
    const Stored& s = stored_[k];
    const auto size = static_cast<int64_t>(s.bytes.size());
    // At the batch's start (a clean boundary), in its header, at the header's
    // end and in its records.
    for (int64_t delta :
         {int64_t{0}, int64_t{1}, int64_t{11}, int64_t{12}, int64_t{60}, int64_t{61}, size - 1}) {
      restore();
      truncate_file(s.segment, s.position + delta);
      auto log = open_log(false);
      expect_recovered(*log, k, "batch " + std::to_string(k) + " cut at +" + std::to_string(delta));
    }
  }
}

TEST_P(RecoveryTest, FlippedByteCutsTheLogBeforeThatBatch) {
  write_log(12, false);
  for (size_t k : {size_t{0}, size_t{4}, size_t{11}}) {
    const Stored& s = stored_[k];
    const auto size = static_cast<int64_t>(s.bytes.size());
    // Length, magic, CRC, attributes, header fields and record bytes: all
    // covered by the length check or the CRC.
    for (int64_t delta : {int64_t{8}, int64_t{11}, int64_t{16}, int64_t{17}, int64_t{20}, int64_t{22},
                          int64_t{30}, int64_t{58}, int64_t{61}, size / 2, size - 1}) {
      restore();
      flip_byte(s.segment, s.position + delta);
      auto log = open_log(false);
      expect_recovered(*log, k, "batch " + std::to_string(k) + " flipped at +" + std::to_string(delta));
    }
  }
}

TEST_P(RecoveryTest, GarbageAfterTheLastBatchIsCut) {
  write_log(6, false);
  restore();
  {
    // Preallocated-but-unwritten space after a crash reads as zeros.
    const auto size = fs::file_size(stored_.back().segment);
    fs::resize_file(stored_.back().segment, size + 4096);
  }
  auto log = open_log(false);
  expect_recovered(*log, stored_.size(), "zeros after the end");
}

TEST_P(RecoveryTest, DamagedSegmentThatIsNotTheLastIsQuarantinedNotCut) {
  options_.segment_bytes = 1024;
  write_log(40, false);
  ASSERT_GE(segments_, 4u);
  // The middle batch of the second segment of four or more. The segments
  // before the one before the active one were synced (a roll syncs an older
  // sealed segment still waiting): damage there is not a torn or lost
  // write, whatever the checkpoint says.
  const std::string second = segment_paths().at(1);
  std::vector<size_t> in_second;
  for (size_t i = 0; i < stored_.size(); ++i) {
    if (stored_[i].segment == second) in_second.push_back(i);
  }
  ASSERT_GE(in_second.size(), 3u);
  const size_t k = in_second[in_second.size() / 2];
  restore();
  flip_byte(second, stored_[k].position + 40);

  auto log = open_log(false);
  EXPECT_EQ(log->segment_count(), segments_);
  expect_quarantined(*log, {k}, end_, "second segment damaged");
}

TEST_P(RecoveryTest, SegmentsBeforeTheRecoveryPointAreCheckedOnFirstRead) {
  options_.segment_bytes = 1024;
  write_log(40, false);
  // A byte flipped in the first segment: recovery does not read segments
  // wholly below the recovery point, the first read of the batch does; when
  // verifying from the start, recovery finds it. Both quarantine it.
  for (int64_t recovery_point : {stored_.back().base, int64_t{0}}) {
    restore();
    flip_byte(stored_[1].segment, stored_[1].position + 70);
    auto log = open_log(false, recovery_point);
    EXPECT_EQ(log->damaged_ranges().empty(), recovery_point > 0);
    expect_quarantined(*log, {1}, end_, "recovery point " + std::to_string(recovery_point));
  }
}

TEST_P(RecoveryTest, TornTailBehindACleanMarkerIsKeptAsideWithoutACheckpoint) {
  write_log(12, /*clean=*/true);
  const Stored& last = stored_.back();
  // In the header (unreadable header) and in the records (batch longer than
  // the file). A clean stop flushed everything, so this is damage, not a
  // torn write: the bytes stay (quarantined) and, with no checkpoint saying
  // more was acknowledged, the log goes on after the last whole batch, in a
  // new segment.
  for (int64_t delta : {int64_t{1}, int64_t{30}, int64_t{60}, int64_t{61}, int64_t{70}}) {
    restore();
    truncate_file(last.segment, last.position + delta);
    auto log = open_log(/*clean=*/true);
    EXPECT_EQ(static_cast<int64_t>(fs::file_size(last.segment)), last.position + delta);
    EXPECT_EQ(log->damaged_ranges().size(), 1u);
    expect_recovered(*log, stored_.size() - 1, "clean, cut at +" + std::to_string(delta));
  }
}

class IndexRecoveryTest : public RecoveryTest {
 protected:
  void SetUp() override {
    RecoveryTest::SetUp();
    options_.segment_bytes = 1024;
    write_log(40, /*clean=*/true);
    restore();
    auto log = open_log(true);
    before_ = lookups(*log);
    entries_before_ = log->index_entries();
    EXPECT_GT(entries_before_, 0);
  }

  void expect_same_lookups(bool clean, const std::string& context) {
    SCOPED_TRACE(context);
    auto log = open_log(clean);
    EXPECT_EQ(log->index_entries(), entries_before_);
    EXPECT_EQ(lookups(*log), before_);
    for (const auto& s : stored_) {
      const std::string prefix = s.segment.substr(0, s.segment.size() - 4);
      EXPECT_TRUE(fs::exists(prefix + ".index"));
      EXPECT_TRUE(fs::exists(prefix + ".timeindex"));
    }
    expect_recovered(*log, stored_.size(), context);
  }

  std::vector<std::string> index_files() const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(part_dir())) {
      if (e.path().extension() != ".log") out.push_back(e.path().string());
    }
    return out;
  }

  std::vector<std::string> before_;
  int64_t entries_before_ = 0;
};

TEST_P(IndexRecoveryTest, MissingIndexFilesAreRebuilt) {
  for (bool clean : {true, false}) {
    restore();
    for (const auto& f : index_files()) fs::remove(f);
    expect_same_lookups(clean, clean ? "clean" : "unclean");
  }
}

TEST_P(IndexRecoveryTest, ZeroFilledIndexFilesAreRebuilt) {
  for (bool clean : {true, false}) {
    restore();
    for (const auto& f : index_files()) zero_fill(f);
    expect_same_lookups(clean, clean ? "clean" : "unclean");
  }
}

TEST_P(IndexRecoveryTest, IndexFilesCutMidEntryAreRebuilt) {
  for (bool clean : {true, false}) {
    restore();
    for (const auto& f : index_files()) {
      const auto size = static_cast<int64_t>(fs::file_size(f));
      if (size > 3) truncate_file(f, size - 3);
    }
    expect_same_lookups(clean, clean ? "clean" : "unclean");
  }
}

TEST_P(IndexRecoveryTest, IndexOfATruncatedLogDropsEntriesBeyondIt) {
  // The log loses its tail but the index files keep entries for it.
  const Stored& victim = stored_[stored_.size() - 3];
  restore();
  truncate_file(victim.segment, victim.position + 5);
  auto log = open_log(false);
  for (size_t i = 0; i + 3 < stored_.size(); ++i) {
    EXPECT_EQ(read_bytes(log->read(stored_[i].last, 1)), stored_[i].bytes) << i;
  }
  expect_recovered(*log, stored_.size() - 3, "tail cut under the index");
}

INSTANTIATE_TEST_SUITE_P(Indexes, RecoveryTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "WithIndexes" : "NoIndexes"; });
INSTANTIATE_TEST_SUITE_P(Indexes, IndexRecoveryTest, ::testing::Values(true),
                         [](const auto&) { return std::string("WithIndexes"); });

// With an offset index but no time index, the newest timestamp of a segment
// must still cover batches the offset index lets recovery skip.
TEST(RecoveryTimestamps, NewestTimestampSurvivesReopenWithOnlyAnOffsetIndex) {
  keel::test::TempDir dir{"keel-recovery-ts"};
  keel::ManualClock clock{1'700'000'000'000};
  keel::PluginRegistry registry{{KEEL_TEST_PLUGIN_DIR}, &clock};
  auto doc =
      std::make_shared<toml::table>(toml::parse("interval_bytes = 100", std::string_view("test.toml")));
  keel_config cfg;
  cfg.settings.tables = {doc.get()};
  cfg.settings.table_names = {"[test]"};
  LogOptions options;
  options.indexes.push_back({registry.require(KEEL_KIND_INDEX, "sparse-mmap"), &cfg});
  const std::string path = dir.sub("t-0");
  {
    PartitionLog log("t", 0, path, options, &clock);
    log.open(true, 0);
    const std::string newest = epoch0_batch(2, 50'000, "newest");
    log.append(bytes(newest), newest.size());
    for (int i = 0; i < 20; ++i) {
      const std::string b = epoch0_batch(2, 1'000 + 10 * i, "old" + std::to_string(i));
      log.append(bytes(b), b.size());
    }
    ASSERT_GT(log.index_entries(), 0);
    EXPECT_EQ(log.segment_infos().back().max_timestamp, 50'001);
    log.close();
  }
  PartitionLog log("t", 0, path, options, &clock);
  log.open(true, 0);
  EXPECT_EQ(log.segment_infos().back().max_timestamp, 50'001);
  EXPECT_EQ(log.find_time(40'000), std::make_pair(int64_t{0}, int64_t{50'000}));
}

}  // namespace
