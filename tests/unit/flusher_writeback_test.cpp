// Incremental writeback: the flusher starts the kernel's writeback of a
// partition's appended bytes every `writeback_bytes` (sync_file_range), so
// no fdatasync (a segment roll) or dirty-page throttling meets a large
// dirty set. These tests check who asks for it and when, and that the
// active segment's written-back mark follows the appends.
#include <gtest/gtest.h>

#include <chrono>
#include <keel/record_batch.hpp>
#include <memory>
#include <string>
#include <thread>

#include "common/clock.hpp"
#include "storage/flusher.hpp"
#include "storage/partition_log.hpp"
#include "support/temp_dir.hpp"

namespace {

using keel::FlushMode;
using keel::FlushPolicy;
using keel::PartitionLog;

// One batch of `records` records of `value_bytes` each.
std::string big_batch(int records, size_t value_bytes) {
  keel::batch::Builder b(0);
  for (int i = 0; i < records; ++i) b.add("k" + std::to_string(i), std::string(value_bytes, 'v'), 1000 + i);
  return b.build();
}

class WritebackTest : public ::testing::Test {
 protected:
  std::shared_ptr<PartitionLog> open_log() {
    auto log = std::make_shared<PartitionLog>("wb", 0, dir_.sub("wb-0"), keel::LogOptions{}, &clock_);
    log->open(true, 0);
    return log;
  }
  static void append(PartitionLog& log, const std::string& b) {
    log.append(reinterpret_cast<const uint8_t*>(b.data()), b.size());
  }

  keel::test::TempDir dir_{"keel-writeback"};
  keel::ManualClock clock_{1'700'000'000'000};
};

TEST_F(WritebackTest, ClaimedOncePerWindowAndTheMarkFollowsTheActiveSegment) {
  auto log = open_log();
  const std::string b = big_batch(64, 4096);  // ~256 KiB
  append(*log, b);
  EXPECT_FALSE(log->claim_write_back(1 << 20)) << "less than a window appended";
  for (int i = 0; i < 4; ++i) append(*log, b);  // ~1.25 MiB
  EXPECT_TRUE(log->claim_write_back(1 << 20));
  EXPECT_FALSE(log->claim_write_back(1 << 20)) << "already queued: one request per window";
  log->write_back();
  const int64_t size = log->active_segment_bytes();
  EXPECT_EQ(log->active_written_back(), size & ~int64_t{4095}) << "whole pages up to the end";
  EXPECT_FALSE(log->claim_write_back(1 << 20)) << "nothing new since the writeback";
  for (int i = 0; i < 4; ++i) append(*log, b);
  EXPECT_TRUE(log->claim_write_back(1 << 20));
  log->write_back();
  EXPECT_GT(log->active_written_back(), size);
  EXPECT_EQ(log->flushed_offset(), 0) << "a writeback is not a flush: nothing is promised durable by it";
}

TEST_F(WritebackTest, TheFlusherWritesBackOsAndIntervalPartitionsButNotEveryBatchOnes) {
  keel::Flusher flusher(&clock_, nullptr);
  flusher.set_writeback_bytes(256 << 10);
  flusher.start();
  const std::string b = big_batch(32, 4096);  // ~128 KiB
  auto os = open_log();
  auto every = std::make_shared<PartitionLog>("every", 0, dir_.sub("every-0"), keel::LogOptions{}, &clock_);
  every->open(true, 0);
  for (int i = 0; i < 8; ++i) {
    append(*os, b);
    flusher.appended(os, FlushPolicy{FlushMode::Os, 1000, 10000}, os->log_end_offset(), nullptr);
    append(*every, b);
    flusher.appended(every, FlushPolicy{FlushMode::EveryBatch, 1000, 10000}, every->log_end_offset(),
                     nullptr);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (os->active_written_back() == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  EXPECT_GE(os->active_written_back(), 256 << 10) << "the os partition's pages were handed to writeback";
  flusher.stop();
  EXPECT_EQ(every->active_written_back(), 0) << "every-batch syncs each batch: no writeback of its own";
  EXPECT_EQ(every->flushed_offset(), every->log_end_offset());
}

}  // namespace
