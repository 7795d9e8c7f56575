// The fixture of the recovery and damage tests: writes a partition log of
// small batches (remembering where each was stored), snapshots it, and
// reopens damaged copies of the snapshot.
#pragma once

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <keel/record_batch.hpp>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "storage/partition_log.hpp"
#include "support/batch_bytes.hpp"
#include "support/builtin_indexes.hpp"
#include "support/temp_dir.hpp"

namespace keel::test {

namespace fs = std::filesystem;
using keel::LogOptions;
using keel::PartitionLog;
using keel::ReadResult;
namespace batch = keel::batch;

// Stamped with leader epoch 0, as a single node's log stores it, so that
// stored bytes compare equal past the base offset.
inline std::string epoch0_batch(int records, int64_t ts0, const std::string& tag) {
  batch::Builder b(0);
  b.partition_leader_epoch(0);
  for (int i = 0; i < records; ++i) b.add("key-" + tag, tag + "/" + std::to_string(i), ts0 + i);
  return b.build();
}

inline void truncate_file(const std::string& path, int64_t size) {
  fs::resize_file(path, static_cast<uintmax_t>(size));
}

inline void flip_byte(const std::string& path, int64_t pos) {
  int fd = ::open(path.c_str(), O_RDWR);
  ASSERT_GE(fd, 0) << path;
  uint8_t b = 0;
  ASSERT_EQ(::pread(fd, &b, 1, pos), 1);
  b ^= 0x21;
  ASSERT_EQ(::pwrite(fd, &b, 1, pos), 1);
  ::close(fd);
}

inline void zero_fill(const std::string& path) {
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
  void SetUp() override { indexes_.add_to(options_, GetParam()); }

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
      const std::string b = epoch0_batch(i % 4 + 1, 10'000 + 10 * i, "b" + std::to_string(i));
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
    const std::string next = epoch0_batch(2, 99'000, "after");
    keel::AppendResult r = log.append(bytes(next), next.size());
    EXPECT_EQ(r.base_offset, end);
    const std::string got = read_bytes(log.read(end + 1, 1));
    ASSERT_FALSE(got.empty());
    EXPECT_EQ(batch::parse_header(bytes(got), got.size())->base_offset, end);
    EXPECT_EQ(got.substr(8), next.substr(8));
  }

  // The log holds every stored batch but those in `lost`, byte for byte;
  // reads of a lost batch's offsets fail with KEEL_ERR_CORRUPT; the log ends
  // at `end` and appends continue there.
  void expect_quarantined(PartitionLog& log, const std::set<size_t>& lost, int64_t end,
                          const std::string& context) {
    SCOPED_TRACE(context);
    ASSERT_EQ(log.log_end_offset(), end);
    for (size_t i = 0; i < stored_.size(); ++i) {
      if (lost.count(i) == 0) {
        EXPECT_EQ(read_bytes(log.read(stored_[i].base, 1)), stored_[i].bytes) << "batch " << i;
        EXPECT_EQ(read_bytes(log.read(stored_[i].last, 1)), stored_[i].bytes) << "batch " << i;
        continue;
      }
      for (int64_t off : {stored_[i].base, stored_[i].last}) {
        try {
          ReadResult r = log.read(off, 1);
          ADD_FAILURE() << "damaged batch " << i << " read at offset " << off << ": " << r.length << " bytes";
        } catch (const keel::Error& e) {
          EXPECT_EQ(e.code(), KEEL_ERR_CORRUPT) << e.what();
        }
      }
    }
    if (!lost.empty()) {
      EXPECT_FALSE(log.damaged_ranges().empty());
    }
    const std::string next = epoch0_batch(2, 99'000, "after");
    keel::AppendResult r = log.append(bytes(next), next.size());
    EXPECT_EQ(r.base_offset, end);
    const std::string got = read_bytes(log.read(end + 1, 1));
    ASSERT_FALSE(got.empty());
    EXPECT_EQ(got.substr(8), next.substr(8));
  }

  // Indexes of the stored batches that overlap bytes [from, to) of `segment`.
  std::set<size_t> overlapping(const std::string& segment, int64_t from, int64_t to) const {
    std::set<size_t> out;
    for (size_t i = 0; i < stored_.size(); ++i) {
      const auto& s = stored_[i];
      if (s.segment == segment && s.position < to &&
          s.position + static_cast<int64_t>(s.bytes.size()) > from) {
        out.insert(i);
      }
    }
    return out;
  }

  std::vector<std::string> segment_paths() const {
    std::vector<std::string> out;
    for (const auto& s : stored_) {
      if (out.empty() || out.back() != s.segment) out.push_back(s.segment);
    }
    return out;
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
  keel::test::BuiltinIndexes indexes_{&clock_};
  LogOptions options_;
  std::vector<Stored> stored_;
  int64_t end_ = 0;
  size_t segments_ = 0;
};

}  // namespace keel::test
