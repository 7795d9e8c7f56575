// Recovery of a partition's log after crashes and damage: torn tails, flipped
// bytes, missing or damaged index files, a damaged segment that is not the
// last. Each case starts from a snapshot of a log written by a "crashed"
// process (the PartitionLog destroyed without close()), damages a copy and
// reopens it; the log must end at the last whole valid batch, keep every
// batch before it byte for byte, and take appends at the right offset.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <keel/record_batch.hpp>
#include <memory>
#include <string>
#include <vector>

#include "clock.hpp"
#include "error.hpp"
#include "partition_log.hpp"
#include "plugin_config.hpp"
#include "plugin_registry.hpp"
#include "support/temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
using keel::LogOptions;
using keel::PartitionLog;
using keel::ReadResult;
namespace batch = keel::batch;

const uint8_t* bytes(const std::string& s) { return reinterpret_cast<const uint8_t*>(s.data()); }

std::string make_batch(int records, int64_t ts0, const std::string& tag) {
  batch::Builder b(0);
  for (int i = 0; i < records; ++i) b.add("key-" + tag, tag + "/" + std::to_string(i), ts0 + i);
  return b.build();
}

std::string read_bytes(const ReadResult& r) {
  if (!r.segment) return "";
  std::string out(static_cast<size_t>(r.length), '\0');
  EXPECT_EQ(::pread(r.segment->fd(), out.data(), out.size(), r.position), r.length);
  return out;
}

void truncate_file(const std::string& path, int64_t size) {
  fs::resize_file(path, static_cast<uintmax_t>(size));
}

void flip_byte(const std::string& path, int64_t pos) {
  int fd = ::open(path.c_str(), O_RDWR);
  ASSERT_GE(fd, 0) << path;
  uint8_t b = 0;
  ASSERT_EQ(::pread(fd, &b, 1, pos), 1);
  b ^= 0x21;
  ASSERT_EQ(::pwrite(fd, &b, 1, pos), 1);
  ::close(fd);
}

void zero_fill(const std::string& path) {
  const auto size = fs::file_size(path);
  fs::resize_file(path, 0);
  fs::resize_file(path, size);
}

// A batch as the log stored it.
struct Stored {
  int64_t base = 0;
  int64_t last = 0;
  int64_t position = 0;
  std::string segment;  // path of its .log file
  std::string bytes;
};

class RecoveryTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    doc_ = std::make_shared<toml::table>(
        toml::parse("interval_bytes = 100\nmax_index_bytes = 4096", std::string_view("test.toml")));
    cfg_.settings.tables = {doc_.get()};
    cfg_.settings.table_names = {"[test]"};
    if (GetParam()) {
      options_.indexes.push_back({registry_.require(KEEL_KIND_INDEX, "sparse-mmap"), &cfg_});
      options_.indexes.push_back({registry_.require(KEEL_KIND_INDEX, "timestamp"), &cfg_});
    }
  }

  std::string part_dir() const { return dir_.sub("t-0"); }
  std::string snapshot_dir() const { return dir_.sub("snapshot"); }

  std::unique_ptr<PartitionLog> open_log(bool clean, int64_t recovery_point = 0) {
    auto log = std::make_unique<PartitionLog>("t", 0, part_dir(), options_, &clock_);
    log->open(clean, recovery_point);
    return log;
  }

  // Writes `n` batches of 1-4 records, remembers how they were stored and
  // snapshots the directory. With `clean` the log is closed properly,
  // otherwise it is dropped as a crash would.
  void write_log(int n, bool clean) {
    auto log = open_log(true);
    for (int i = 0; i < n; ++i) {
      const std::string b = make_batch(i % 4 + 1, 10'000 + 10 * i, "b" + std::to_string(i));
      log->append(bytes(b), b.size());
    }
    for (int64_t off = 0; off < log->log_end_offset();) {
      ReadResult r = log->read(off, 1);
      Stored s;
      s.bytes = read_bytes(r);
      auto h = *batch::parse_header(bytes(s.bytes), s.bytes.size());
      s.base = h.base_offset;
      s.last = h.last_offset();
      s.position = r.position;
      s.segment = r.segment->path();
      stored_.push_back(s);
      off = s.last + 1;
    }
    ASSERT_EQ(static_cast<int>(stored_.size()), n);
    end_ = log->log_end_offset();
    segments_ = log->segment_count();
    if (clean) log->close();
    log.reset();
    fs::copy(part_dir(), snapshot_dir(), fs::copy_options::recursive);
  }

  void restore() {
    fs::remove_all(part_dir());
    fs::copy(snapshot_dir(), part_dir(), fs::copy_options::recursive);
  }

  // The log holds exactly stored_[0, whole) and appends continue after them.
  void expect_recovered(PartitionLog& log, size_t whole, const std::string& context) {
    SCOPED_TRACE(context);
    const int64_t end = whole == 0 ? stored_.front().base : stored_[whole - 1].last + 1;
    ASSERT_EQ(log.log_end_offset(), end);
    EXPECT_EQ(log.flushed_offset(), end);
    for (size_t i = 0; i < whole; ++i) {
      EXPECT_EQ(read_bytes(log.read(stored_[i].base, 1)), stored_[i].bytes) << "batch " << i;
      EXPECT_EQ(read_bytes(log.read(stored_[i].last, 1)), stored_[i].bytes) << "batch " << i;
    }
    EXPECT_EQ(log.read(end, 1 << 20).length, 0);
    const std::string next = make_batch(2, 99'000, "after");
    keel::AppendResult r = log.append(bytes(next), next.size());
    EXPECT_EQ(r.base_offset, end);
    const std::string got = read_bytes(log.read(end + 1, 1));
    ASSERT_FALSE(got.empty());
    EXPECT_EQ(batch::parse_header(bytes(got), got.size())->base_offset, end);
    EXPECT_EQ(got.substr(8), next.substr(8));
  }

  // Every read and time lookup, to compare a log before and after damage.
  std::vector<std::string> lookups(PartitionLog& log) {
    std::vector<std::string> out;
    for (int64_t off = log.log_start_offset(); off < log.log_end_offset(); ++off) {
      ReadResult r = log.read(off, 300);
      out.push_back(std::to_string(off) + "@" + std::to_string(r.position) + "+" + std::to_string(r.length));
    }
    for (int64_t ts = 9'995; ts < 10'000 + 10 * static_cast<int64_t>(stored_.size()) + 5; ts += 3) {
      auto [o, t] = log.find_time(ts);
      out.push_back("t" + std::to_string(ts) + "=" + std::to_string(o) + "/" + std::to_string(t));
    }
    return out;
  }

  keel::test::TempDir dir_{"keel-recovery"};
  keel::ManualClock clock_{1'700'000'000'000};
  keel::PluginRegistry registry_{{KEEL_TEST_PLUGIN_DIR}, &clock_};
  std::shared_ptr<toml::table> doc_;
  keel_config cfg_;
  LogOptions options_;
  std::vector<Stored> stored_;
  int64_t end_ = 0;
  size_t segments_ = 0;
};

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

TEST_P(RecoveryTest, DamagedSegmentThatIsNotTheLastDropsTheLaterOnes) {
  options_.segment_bytes = 1024;
  write_log(40, false);
  ASSERT_GE(segments_, 4u);
  // The middle batch of the second segment.
  std::string second;
  for (const auto& s : stored_) {
    if (s.segment != stored_[0].segment) {
      second = s.segment;
      break;
    }
  }
  std::vector<size_t> in_second;
  for (size_t i = 0; i < stored_.size(); ++i) {
    if (stored_[i].segment == second) in_second.push_back(i);
  }
  ASSERT_GE(in_second.size(), 3u);
  const size_t k = in_second[in_second.size() / 2];
  restore();
  flip_byte(second, stored_[k].position + 40);

  auto log = open_log(false);
  EXPECT_EQ(log->segment_count(), 2u);
  // Later segments (and their index files) are gone from the disk.
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(part_dir())) files.push_back(e.path().filename().string());
  for (const auto& f : files) {
    const int64_t base = std::stoll(f.substr(0, 20));
    EXPECT_LE(base, stored_[in_second.front()].base) << f;
  }
  EXPECT_EQ(log->segment_infos().back().base_offset, stored_[in_second.front()].base);
  expect_recovered(*log, k, "second segment damaged");
  // The damaged segment is the active one again: the append went there.
  EXPECT_EQ(log->segment_count(), 2u);
}

TEST_P(RecoveryTest, SegmentsBeforeTheRecoveryPointAreTrusted) {
  options_.segment_bytes = 1024;
  write_log(40, false);
  restore();
  // A byte flipped in the first segment goes unnoticed when the checkpoint
  // says everything before the last segment was flushed...
  flip_byte(stored_[1].segment, stored_[1].position + 70);
  {
    auto log = open_log(false, stored_.back().base);
    EXPECT_EQ(log->log_end_offset(), end_);
  }
  // ...and is found when verifying from the start.
  auto log = open_log(false, 0);
  expect_recovered(*log, 1, "verified from 0");
}

TEST_P(RecoveryTest, TornTailBehindACleanMarkerIsCut) {
  write_log(12, /*clean=*/true);
  const Stored& last = stored_.back();
  // In the header (unreadable header) and in the records (batch longer than
  // the file): recovery cuts both even when it does not verify CRCs.
  for (int64_t delta : {int64_t{1}, int64_t{30}, int64_t{60}, int64_t{61}, int64_t{70}}) {
    restore();
    truncate_file(last.segment, last.position + delta);
    auto log = open_log(/*clean=*/true);
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
    const std::string newest = make_batch(2, 50'000, "newest");
    log.append(bytes(newest), newest.size());
    for (int i = 0; i < 20; ++i) {
      const std::string b = make_batch(2, 1'000 + 10 * i, "old" + std::to_string(i));
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
