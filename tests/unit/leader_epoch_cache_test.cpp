// LeaderEpochCache (KIP-101/279): assign, end_offset_for, both truncations,
// the checkpoint file and its reload; and a PartitionLog that stamps its
// batches, keeps the cache with them, and rebuilds a missing or damaged
// checkpoint from the batch headers at open.
#include "replication/leader_epoch_cache.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <keel/record_batch.hpp>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "storage/partition_log.hpp"
#include "support/batch_bytes.hpp"
#include "support/temp_dir.hpp"

namespace {

using keel::EpochEndOffset;
using keel::EpochEntry;
using keel::LeaderEpochCache;
using keel::PartitionLog;
namespace batch = keel::batch;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

class LeaderEpochCacheTest : public ::testing::Test {
 protected:
  keel::test::TempDir dir_{"keel-epochs"};
};

TEST_F(LeaderEpochCacheTest, AssignTakesOnlyNewerEpochsAndNeverGoesBack) {
  LeaderEpochCache c(dir_.str());
  EXPECT_EQ(c.latest_epoch(), -1);
  EXPECT_TRUE(c.assign(0, 0));
  EXPECT_FALSE(c.assign(0, 5));  // the same epoch again
  EXPECT_TRUE(c.assign(2, 10));
  EXPECT_FALSE(c.assign(1, 20));  // older
  EXPECT_FALSE(c.assign(3, 9));   // a start offset going backwards
  EXPECT_FALSE(c.assign(-1, 30));
  EXPECT_TRUE(c.assign(5, 10));  // an epoch that wrote nothing may share a start
  EXPECT_EQ(c.latest_epoch(), 5);
  EXPECT_EQ(c.entries(), (std::vector<EpochEntry>{{0, 0}, {2, 10}, {5, 10}}));
}

TEST_F(LeaderEpochCacheTest, EndOffsetForFollowsKip279) {
  LeaderEpochCache c(dir_.str());
  EXPECT_EQ(c.end_offset_for(0, 100), (EpochEndOffset{-1, -1}));  // empty
  c.assign(1, 10);
  c.assign(3, 40);
  c.assign(6, 70);
  EXPECT_EQ(c.end_offset_for(6, 100), (EpochEndOffset{6, 100}));  // latest: the log end
  EXPECT_EQ(c.end_offset_for(3, 100), (EpochEndOffset{3, 70}));
  EXPECT_EQ(c.end_offset_for(1, 100), (EpochEndOffset{1, 40}));
  // Epochs the log never had: the largest one below, ending where the next starts.
  EXPECT_EQ(c.end_offset_for(2, 100), (EpochEndOffset{1, 40}));
  EXPECT_EQ(c.end_offset_for(5, 100), (EpochEndOffset{3, 70}));
  EXPECT_EQ(c.end_offset_for(0, 100), (EpochEndOffset{-1, -1}));  // before the first
  EXPECT_EQ(c.end_offset_for(7, 100), (EpochEndOffset{-1, -1}));  // after the latest
  EXPECT_EQ(c.end_offset_for(-1, 100), (EpochEndOffset{-1, -1}));
}

TEST_F(LeaderEpochCacheTest, TruncateFromEndDropsEpochsStartingAtOrAfterTheCut) {
  LeaderEpochCache c(dir_.str());
  c.assign(1, 10);
  c.assign(3, 40);
  c.assign(6, 70);
  c.truncate_from_end(71);
  EXPECT_EQ(c.entries().size(), 3u);
  c.truncate_from_end(70);
  EXPECT_EQ(c.entries(), (std::vector<EpochEntry>{{1, 10}, {3, 40}}));
  EXPECT_EQ(c.end_offset_for(3, 55), (EpochEndOffset{3, 55}));
  c.truncate_from_end(0);
  EXPECT_TRUE(c.entries().empty());
}

TEST_F(LeaderEpochCacheTest, TruncateFromStartKeepsTheCoveringEpochClamped) {
  LeaderEpochCache c(dir_.str());
  c.assign(1, 10);
  c.assign(3, 40);
  c.assign(6, 70);
  c.truncate_from_start(5);  // below every start: nothing changes
  EXPECT_EQ(c.entries().size(), 3u);
  c.truncate_from_start(50);
  EXPECT_EQ(c.entries(), (std::vector<EpochEntry>{{3, 50}, {6, 70}}));
  c.truncate_from_start(70);
  EXPECT_EQ(c.entries(), (std::vector<EpochEntry>{{6, 70}}));
  c.truncate_from_start(90);
  EXPECT_EQ(c.entries(), (std::vector<EpochEntry>{{6, 90}}));
}

TEST_F(LeaderEpochCacheTest, EveryChangeIsCheckpointedInKafkasFormatAndReloads) {
  {
    LeaderEpochCache c(dir_.str());
    c.assign(0, 0);
    c.assign(4, 25);
    EXPECT_EQ(read_file(c.path()), "0\n2\n0 0\n4 25\n");
    c.truncate_from_start(3);
    EXPECT_EQ(read_file(c.path()), "0\n2\n0 3\n4 25\n");
    c.truncate_from_end(25);
    EXPECT_EQ(read_file(c.path()), "0\n1\n0 3\n");
    c.assign(7, 30, /*persist=*/false);  // a rebuild's step: in memory only
    EXPECT_EQ(read_file(c.path()), "0\n1\n0 3\n");
    c.save();
  }
  LeaderEpochCache again(dir_.str());
  std::string problem;
  ASSERT_TRUE(again.load(&problem)) << problem;
  EXPECT_EQ(again.entries(), (std::vector<EpochEntry>{{0, 3}, {7, 30}}));
}

TEST_F(LeaderEpochCacheTest, AMissingOrDamagedCheckpointLoadsEmptyAndSaysWhy) {
  LeaderEpochCache c(dir_.str());
  std::string problem;
  EXPECT_FALSE(c.load(&problem));
  EXPECT_EQ(problem, "it is missing");
  const std::vector<std::pair<std::string, std::string>> damaged = {
      {"1\n0\n", "version"},
      {"0\nmany\n", "count"},
      {"0\n2\n0 0\n", "holds 1 entries"},
      {"0\n1\n0 x\n", "not 'epoch start_offset'"},
      {"0\n1\n0 1 2\n", "not 'epoch start_offset'"},
      {"0\n2\n3 10\n2 20\n", "does not follow"},
      {"0\n2\n2 20\n3 10\n", "does not follow"},
      {"0\n1\n0 0\n9 9\n", "goes on after"},
  };
  for (const auto& [text, why] : damaged) {
    write_file(c.path(), text);
    problem.clear();
    EXPECT_FALSE(c.load(&problem)) << text;
    EXPECT_NE(problem.find(why), std::string::npos) << text << ": " << problem;
    EXPECT_TRUE(c.entries().empty());
  }
}

// ------------------------------------------------------------ in a log

std::string epoch_batch(int records, int32_t client_epoch = -1) {
  batch::Builder b(12'345);
  b.partition_leader_epoch(client_epoch);
  for (int i = 0; i < records; ++i) b.add("k" + std::to_string(i), "v" + std::to_string(i), 1'000 + i);
  return b.build();
}

using keel::test::bytes;

class LeaderEpochLogTest : public LeaderEpochCacheTest {
 protected:
  std::unique_ptr<PartitionLog> open_log(bool clean = true) {
    auto log = std::make_unique<PartitionLog>("orders", 0, dir_.sub("orders-0"), keel::LogOptions{}, &clock_);
    log->open(clean, 0);
    return log;
  }
  std::vector<int32_t> stored_epochs(const PartitionLog& log) {
    std::vector<int32_t> out;
    log.for_each_batch([&](const uint8_t* b, size_t len) {
      out.push_back(batch::parse_header(b, len)->partition_leader_epoch);
      return true;
    });
    return out;
  }
  std::string checkpoint() const { return dir_.sub("orders-0") + "/" + LeaderEpochCache::kFileName; }
  keel::ManualClock clock_{1'700'000'000'000};
};

TEST_F(LeaderEpochLogTest, AppendsStampTheirEpochAndStartItInTheCache) {
  auto log = open_log();
  const std::string b = epoch_batch(3, 42);  // what the producer put there is overwritten
  log->append(bytes(b), b.size(), 0);
  log->append(bytes(b), b.size(), 0);
  log->append(bytes(b), b.size(), 2);
  log->append(bytes(b), b.size(), 2);
  EXPECT_EQ(stored_epochs(*log), (std::vector<int32_t>{0, 0, 2, 2}));
  EXPECT_EQ(log->leader_epochs().entries(), (std::vector<EpochEntry>{{0, 0}, {2, 6}}));
  EXPECT_EQ(read_file(checkpoint()), "0\n2\n0 0\n2 6\n");
  EXPECT_EQ(log->end_offset_for_epoch(0, 2), (EpochEndOffset{0, 6}));
  EXPECT_EQ(log->end_offset_for_epoch(2, 2), (EpochEndOffset{2, 12}));
  EXPECT_EQ(log->end_offset_for_epoch(1, 2), (EpochEndOffset{0, 6}));
  // A leader elected in epoch 4 that has not written yet: epoch 2 ends at
  // the log end, where 4 begins.
  EXPECT_EQ(log->end_offset_for_epoch(2, 4), (EpochEndOffset{2, 12}));
  EXPECT_EQ(log->end_offset_for_epoch(4, 4), (EpochEndOffset{4, 12}));
  // -1 leaves the producer's value and the cache alone.
  log->append(bytes(b), b.size(), -1);
  EXPECT_EQ(stored_epochs(*log).back(), 42);
  EXPECT_EQ(log->leader_epochs().latest_epoch(), 2);
}

TEST_F(LeaderEpochLogTest, DeleteRecordsMovesTheFirstEpochsStart) {
  auto log = open_log();
  const std::string b = epoch_batch(5);
  log->append(bytes(b), b.size(), 0);
  log->append(bytes(b), b.size(), 1);
  log->append(bytes(b), b.size(), 1);
  log->delete_records(7);
  EXPECT_EQ(log->leader_epochs().entries(), (std::vector<EpochEntry>{{1, 7}}));
  EXPECT_EQ(read_file(checkpoint()), "0\n1\n1 7\n");
}

TEST_F(LeaderEpochLogTest, AMissingOrDamagedCheckpointIsRebuiltFromTheBatchesAtOpen) {
  const std::string b = epoch_batch(2);
  {
    auto log = open_log();
    log->append(bytes(b), b.size(), 0);
    log->append(bytes(b), b.size(), 3);
    log->append(bytes(b), b.size(), 3);
    log->append(bytes(b), b.size(), 5);
    log->close();
  }
  const std::vector<EpochEntry> want = {{0, 0}, {3, 2}, {5, 6}};
  std::filesystem::remove(checkpoint());
  {
    auto log = open_log();
    EXPECT_EQ(log->leader_epochs().entries(), want);
    EXPECT_EQ(read_file(checkpoint()), "0\n3\n0 0\n3 2\n5 6\n");  // and saved
    log->close();
  }
  write_file(checkpoint(), "0\n3\n0 0\n3 2\n");  // cut short: the count says 3
  {
    auto log = open_log();
    EXPECT_EQ(log->leader_epochs().entries(), want);
    log->close();
  }
  // A checkpoint ahead of the log (an epoch whose first batch a crash
  // lost) is cut to the log end at open.
  write_file(checkpoint(), "0\n4\n0 0\n3 2\n5 6\n9 8\n");
  auto log = open_log();
  EXPECT_EQ(log->leader_epochs().entries(), want);
  EXPECT_EQ(log->end_offset_for_epoch(5, 5), (EpochEndOffset{5, 8}));
}

}  // namespace
