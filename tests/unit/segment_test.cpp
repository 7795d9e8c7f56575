// Segment: one log file of RecordBatch v2 batches, driven directly (offsets
// already assigned), without and with the built-in index plugins.
#include "storage/segment.hpp"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/uio.h>
#include <unistd.h>

#include <filesystem>
#include <keel/record_batch.hpp>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "plugins/plugin_config.hpp"
#include "plugins/plugin_registry.hpp"
#include "support/temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
using keel::BatchMeta;
using keel::IndexSpec;
using keel::Segment;

// A batch of `records` records whose offsets start at `base`; record i has
// timestamp ts0 + i.
std::string make_batch(int64_t base, int records, int64_t ts0, const std::string& tag = "v") {
  keel::batch::Builder b(base);
  for (int i = 0; i < records; ++i) b.add("k" + std::to_string(i), tag + std::to_string(base + i), ts0 + i);
  return b.build();
}

BatchMeta meta_of(const std::string& batch) {
  auto h = *keel::batch::parse_header(reinterpret_cast<const uint8_t*>(batch.data()), batch.size());
  return {h.base_offset, h.last_offset(), h.max_timestamp, static_cast<int32_t>(batch.size())};
}

void append(Segment& seg, const std::vector<std::string>& batches) {
  std::vector<iovec> iov;
  std::vector<BatchMeta> metas;
  for (const auto& b : batches) {
    iov.push_back({const_cast<char*>(b.data()), b.size()});
    metas.push_back(meta_of(b));
  }
  seg.append(iov.data(), static_cast<int>(iov.size()), metas);
}

void flip_byte(const std::string& path, int64_t pos) {
  int fd = ::open(path.c_str(), O_RDWR);
  ASSERT_GE(fd, 0) << path;
  uint8_t b = 0;
  ASSERT_EQ(::pread(fd, &b, 1, pos), 1);
  b ^= 0x5a;
  ASSERT_EQ(::pwrite(fd, &b, 1, pos), 1);
  ::close(fd);
}

std::string pread_all(int fd, int64_t pos, int64_t len) {
  std::string out(static_cast<size_t>(len), '\0');
  EXPECT_EQ(::pread(fd, out.data(), out.size(), pos), len);
  return out;
}

class SegmentTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    if (GetParam()) {
      doc_ = std::make_shared<toml::table>(
          toml::parse("interval_bytes = 100\nmax_index_bytes = 4096", std::string_view("test.toml")));
      cfg_.settings.tables = {doc_.get()};
      cfg_.settings.table_names = {"[test]"};
      specs_.push_back({registry_.require(KEEL_KIND_INDEX, "sparse-mmap"), &cfg_});
      specs_.push_back({registry_.require(KEEL_KIND_INDEX, "timestamp"), &cfg_});
    }
  }

  std::unique_ptr<Segment> open(int64_t base, bool verify = false, bool writable = true) {
    auto seg = std::make_unique<Segment>(dir_.str(), base, specs_);
    seg->recover(verify, writable);
    return seg;
  }

  keel::test::TempDir dir_{"keel-segment"};
  keel::ManualClock clock_{1'700'000'000'000};
  keel::PluginRegistry registry_{{KEEL_TEST_PLUGIN_DIR}, &clock_};
  std::shared_ptr<toml::table> doc_;
  keel_config cfg_;
  std::vector<IndexSpec> specs_;
};

TEST(SegmentName, IsTheBaseOffsetInTwentyDigits) {
  EXPECT_EQ(Segment::file_name(0), "00000000000000000000");
  EXPECT_EQ(Segment::file_name(1234), "00000000000000001234");
  EXPECT_EQ(Segment::file_name(INT64_MAX), "09223372036854775807");
}

TEST_P(SegmentTest, NewSegmentIsEmpty) {
  auto seg = open(500);
  EXPECT_EQ(seg->path(), dir_.sub("00000000000000000500.log"));
  EXPECT_TRUE(fs::exists(seg->path()));
  EXPECT_EQ(seg->size(), 0);
  EXPECT_EQ(seg->next_offset(), 500);
  EXPECT_EQ(seg->max_timestamp(), -1);
  EXPECT_EQ(seg->read(500, 1 << 20).length, 0);
  EXPECT_EQ(seg->find_time(0), std::make_pair(int64_t{-1}, int64_t{-1}));
}

TEST_P(SegmentTest, AppendStoresTheBytesAndAdvances) {
  auto seg = open(100);
  const std::string a = make_batch(100, 3, 5000);
  const std::string b = make_batch(103, 2, 4000);  // older timestamps
  append(*seg, {a, b});
  EXPECT_EQ(seg->size(), static_cast<int64_t>(a.size() + b.size()));
  EXPECT_EQ(seg->next_offset(), 105);
  EXPECT_EQ(seg->max_timestamp(), 5002);
  EXPECT_EQ(pread_all(seg->fd(), 0, seg->size()), a + b);

  keel_segment_info info = seg->info();
  EXPECT_EQ(info.base_offset, 100);
  EXPECT_EQ(info.next_offset, 105);
  EXPECT_EQ(info.size_bytes, seg->size());
  EXPECT_EQ(info.max_timestamp, 5002);
  EXPECT_GT(info.last_modified_ms, 0);
}

TEST_P(SegmentTest, ReadReturnsWholeBatchesFromTheOneHoldingTheOffset) {
  auto seg = open(0);
  std::vector<std::string> batches;
  std::vector<int64_t> positions;
  int64_t pos = 0;
  for (int i = 0; i < 20; ++i) {
    batches.push_back(make_batch(i * 4, 4, 1000 + i * 4));
    positions.push_back(pos);
    pos += static_cast<int64_t>(batches.back().size());
  }
  append(*seg, batches);
  auto size = [&](size_t i) { return static_cast<int64_t>(batches[i].size()); };

  for (int64_t off = 0; off < 80; ++off) {
    const size_t holder = static_cast<size_t>(off / 4);
    // max_bytes below one batch still returns that whole batch.
    Segment::Span s = seg->read(off, 1);
    EXPECT_EQ(s.position, positions[holder]) << "offset " << off;
    EXPECT_EQ(s.length, size(holder)) << "offset " << off;
  }
  // Batches are added while the total stays within max_bytes.
  const int64_t three_batches = size(2) + size(3) + size(4);
  Segment::Span three = seg->read(9, three_batches);
  EXPECT_EQ(three.position, positions[2]);
  EXPECT_EQ(three.length, three_batches);
  Segment::Span almost = seg->read(9, three_batches - 1);
  EXPECT_EQ(almost.length, size(2) + size(3));
  Segment::Span rest = seg->read(70, 1 << 20);
  EXPECT_EQ(rest.position, positions[17]);
  EXPECT_EQ(rest.position + rest.length, seg->size());
  // Beyond the last offset: nothing.
  EXPECT_EQ(seg->read(80, 1 << 20).length, 0);
}

// Reads near the end use the positions of the batches this process
// appended (RecentBatches); older offsets, a sealed segment and a cut
// segment use the index or the walk. Every path must give the same spans.
TEST_P(SegmentTest, ReadsAgreeWhereverTheyStartTheirSearch) {
  auto seg = open(0);
  std::vector<std::string> batches;
  std::vector<int64_t> positions;
  int64_t pos = 0;
  // More batches than RecentBatches remembers, of varying sizes.
  for (int i = 0; i < 200; ++i) {
    batches.push_back(
        make_batch(i * 2, 1 + i % 2, 1000 + i * 2, std::string(static_cast<size_t>(i % 7), 'x')));
    positions.push_back(pos);
    pos += static_cast<int64_t>(batches.back().size());
  }
  for (const auto& b : batches) append(*seg, {b});
  auto check_all = [&](const char* when) {
    for (int64_t off = 0; off < 400; ++off) {
      const size_t holder = static_cast<size_t>(off / 2);
      const bool in_batch = off <= meta_of(batches[holder]).last_offset;
      Segment::Span s = seg->read(off, 1);
      // An offset in no batch (a gap after a one-record batch) reads the
      // next batch.
      const size_t expect = in_batch ? holder : holder + 1;
      if (expect >= batches.size()) {
        EXPECT_EQ(s.length, 0) << when << ", offset " << off;
        continue;
      }
      EXPECT_EQ(s.position, positions[expect]) << when << ", offset " << off;
      EXPECT_EQ(s.length, static_cast<int64_t>(batches[expect].size())) << when << ", offset " << off;
    }
  };
  check_all("active");

  // Cut at batch 190 and append batches of other sizes at the same
  // offsets: a remembered position of a cut batch must not be used.
  seg->truncate(seg->find_cut(380));
  ASSERT_EQ(seg->size(), positions[190]);
  pos = positions[190];
  for (int i = 190; i < 200; ++i) {
    batches[static_cast<size_t>(i)] =
        make_batch(i * 2, 1 + i % 2, 1000 + i * 2, std::string(static_cast<size_t>(40 + i), 'y'));
    positions[static_cast<size_t>(i)] = pos;
    pos += static_cast<int64_t>(batches[static_cast<size_t>(i)].size());
    append(*seg, {batches[static_cast<size_t>(i)]});
  }
  check_all("after a cut and new appends");

  seg->seal();
  check_all("sealed");
}

TEST_P(SegmentTest, FindTimeReturnsTheFirstRecordAtOrAfterTheTimestamp) {
  auto seg = open(0);
  std::vector<std::string> batches;
  for (int i = 0; i < 30; ++i)
    batches.push_back(make_batch(i * 3, 3, 10'000 + i * 10));  // ts 10000+10i+{0,1,2}
  append(*seg, batches);
  EXPECT_EQ(seg->find_time(0), std::make_pair(int64_t{0}, int64_t{10'000}));
  EXPECT_EQ(seg->find_time(10'000), std::make_pair(int64_t{0}, int64_t{10'000}));
  EXPECT_EQ(seg->find_time(10'001), std::make_pair(int64_t{1}, int64_t{10'001}));
  // 10'003 falls between batch 0 (max 10'002) and batch 1 (10'010..).
  EXPECT_EQ(seg->find_time(10'003), std::make_pair(int64_t{3}, int64_t{10'010}));
  EXPECT_EQ(seg->find_time(10'152), std::make_pair(int64_t{47}, int64_t{10'152}));
  EXPECT_EQ(seg->find_time(10'292), std::make_pair(int64_t{89}, int64_t{10'292}));
  EXPECT_EQ(seg->find_time(10'293), std::make_pair(int64_t{-1}, int64_t{-1}));
}

TEST_P(SegmentTest, ReopenLearnsTheEndAndNewestTimestamp) {
  std::vector<std::string> batches;
  for (int i = 0; i < 25; ++i) batches.push_back(make_batch(1000 + i * 2, 2, 7000 + i));
  int64_t size = 0;
  {
    auto seg = open(1000);
    append(*seg, batches);
    size = seg->size();
    seg->flush();
  }
  auto seg = open(1000, /*verify=*/true);
  EXPECT_EQ(seg->size(), size);
  EXPECT_EQ(seg->next_offset(), 1050);
  EXPECT_EQ(seg->max_timestamp(), 7000 + 24 + 1);
  EXPECT_EQ(seg->read(1031, 1).position, seg->read(1030, 1).position);
  if (GetParam()) {
    EXPECT_GT(seg->index_entries(), 0);
  }
}

TEST_P(SegmentTest, VerifyCutsAtTheFirstCorruptBatch) {
  std::vector<std::string> batches;
  for (int i = 0; i < 5; ++i) batches.push_back(make_batch(i * 2, 2, 100 + i));
  {
    auto seg = open(0);
    append(*seg, batches);
  }
  // Damage a record byte of batch 3 (CRC-covered).
  const int64_t pos3 = static_cast<int64_t>(3 * batches[0].size());
  flip_byte(dir_.sub("00000000000000000000.log"), pos3 + 70);
  auto seg = open(0, /*verify=*/true);
  EXPECT_EQ(seg->size(), pos3);
  EXPECT_EQ(seg->next_offset(), 6);
  EXPECT_EQ(fs::file_size(seg->path()), static_cast<uintmax_t>(pos3));
}

TEST_P(SegmentTest, DeletedSegmentRemovesItsFilesWhenReleased) {
  auto seg = open(0);
  append(*seg, {make_batch(0, 3, 1), make_batch(3, 3, 2)});
  const std::string log = seg->path();
  const int fd = seg->fd();
  seg->mark_deleted();
  // Still readable until the last user lets go.
  EXPECT_EQ(pread_all(fd, 0, 10).size(), 10u);
  EXPECT_TRUE(fs::exists(log));
  seg.reset();
  EXPECT_FALSE(fs::exists(log));
  EXPECT_FALSE(fs::exists(dir_.sub("00000000000000000000.index")));
  EXPECT_FALSE(fs::exists(dir_.sub("00000000000000000000.timeindex")));
}

TEST_P(SegmentTest, IndexFilesLiveBesideTheLog) {
  auto seg = open(42);
  std::vector<std::string> batches;
  for (int i = 0; i < 10; ++i) batches.push_back(make_batch(42 + i, 1, 9 + i));
  append(*seg, batches);
  seg->flush();
  EXPECT_EQ(fs::exists(dir_.sub("00000000000000000042.index")), GetParam());
  EXPECT_EQ(fs::exists(dir_.sub("00000000000000000042.timeindex")), GetParam());
  EXPECT_EQ(seg->index_entries() > 0, GetParam());
}

TEST_P(SegmentTest, DamagedLengthBehindACleanStartIsQuarantined) {
  std::vector<std::string> batches;
  for (int i = 0; i < 10; ++i) batches.push_back(make_batch(i * 2, 2, 100 + i));
  {
    auto seg = open(0);
    append(*seg, batches);
    seg->flush();
  }
  // batchLength of the first batch becomes -12: a total size of 0. Recovery
  // of a clean segment with indexes starts at the index's last entry and
  // does not see it; the first read does.
  const std::string path = dir_.sub("00000000000000000000.log");
  for (int64_t i = 8; i < 12; ++i) {
    int fd = ::open(path.c_str(), O_RDWR);
    ASSERT_GE(fd, 0);
    const uint8_t b = i == 11 ? 0xf4 : 0xff;
    ASSERT_EQ(::pwrite(fd, &b, 1, i), 1);
    ::close(fd);
  }
  auto seg = open(0);
  ASSERT_EQ(seg->next_offset(), 20);
  for (int64_t offset : {0, 1}) {
    try {
      seg->read(offset, 1 << 20);
      ADD_FAILURE() << "damaged batch read at offset " << offset;
    } catch (const keel::Error& e) {
      EXPECT_EQ(e.code(), KEEL_ERR_CORRUPT);
      EXPECT_THAT(e.what(), ::testing::HasSubstr("skip to offset 2"));
    }
  }
  ASSERT_EQ(seg->damaged_ranges().size(), 1u);
  EXPECT_EQ(seg->damaged_ranges()[0].first_offset, 0);
  EXPECT_EQ(seg->damaged_ranges()[0].last_offset, 1);
  // Timestamps of damaged batches cannot be read: the first intact one answers.
  EXPECT_EQ(seg->find_time(0).first, 2);
  // Batches past the damage stay readable.
  EXPECT_GT(seg->read(2, 1).length, 0);
  EXPECT_GT(seg->read(19, 1).length, 0);
}

INSTANTIATE_TEST_SUITE_P(Indexes, SegmentTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "WithIndexes" : "NoIndexes"; });

}  // namespace
