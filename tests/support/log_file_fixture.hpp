// A partition log ("orders-0" in a temp dir) for tests of what its segment
// files hold (recycled and preallocated segments): opens it cleanly or as
// after a crash, appends batches keeping their bytes, and checks that every
// one still reads back as written. The test's parameter says whether the
// log has the built-in indexes.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <keel/record_batch.hpp>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.hpp"
#include "storage/partition_log.hpp"
#include "support/builtin_indexes.hpp"
#include "support/temp_dir.hpp"

namespace keel::test {

// A batch of `records` records whose values start with `tag`.
inline std::string make_batch(int records, const std::string& tag) {
  batch::Builder b(0);
  for (int i = 0; i < records; ++i) b.add("key" + std::to_string(i), tag + "-" + std::to_string(i), 1000 + i);
  return b.build();
}

// The spare segment files (storage/spare_segment.hpp) in `dir`, by name.
inline std::vector<std::string> spare_files_in(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.starts_with("spare-")) out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

inline std::string pread_all(int fd, int64_t pos, int64_t len) {
  std::string out(static_cast<size_t>(len), '\0');
  EXPECT_EQ(::pread(fd, out.data(), out.size(), pos), len);
  return out;
}

class LogFileFixture : public ::testing::TestWithParam<bool> {
 protected:
  explicit LogFileFixture(const std::string& tag) : dir_(tag) {}
  void SetUp() override { indexes_.add_to(options_, GetParam()); }

  std::unique_ptr<PartitionLog> open_log(bool clean = true, int64_t recovery_point = 0) {
    auto log = std::make_unique<PartitionLog>("orders", 0, dir(), options_, &clock_);
    log->open(clean, recovery_point);
    return log;
  }
  std::string dir() const { return dir_.sub("orders-0"); }
  std::string active_path(const PartitionLog& log) const {
    return dir() + "/" + Segment::file_name(log.segment_infos().back().base_offset) + ".log";
  }
  void append_one(PartitionLog& log, const std::string& tag, int records = 2) {
    const std::string b = make_batch(records, tag);
    written_.push_back({log.append(reinterpret_cast<const uint8_t*>(b.data()), b.size()).base_offset, b});
  }

  // Every batch written since the log start reads back as written (with the
  // offsets the log gave it), nothing follows the last one, and nothing is
  // taken for damage.
  void expect_all_readable(PartitionLog& log) {
    for (const auto& [offset, bytes] : written_) {
      if (offset < log.log_start_offset()) continue;
      const ReadResult r = log.read(offset, 1);
      ASSERT_EQ(r.length, static_cast<int64_t>(bytes.size())) << "offset " << offset;
      const std::string got = pread_all(r.segment->fd(), r.position, r.length);
      // The log stamps the base offset and leader epoch (bytes 0-15); from
      // the magic byte on the batch is as sent.
      EXPECT_EQ(got.substr(16), bytes.substr(16)) << "offset " << offset;
    }
    EXPECT_EQ(log.read(log.log_end_offset(), 1 << 20).length, 0);
    EXPECT_TRUE(log.damaged_ranges().empty());
  }

  TempDir dir_;
  ManualClock clock_{1'700'000'000'000};
  BuiltinIndexes indexes_{&clock_};
  LogOptions options_;
  std::vector<std::pair<int64_t, std::string>> written_;  // base offset, bytes as sent
};

}  // namespace keel::test
