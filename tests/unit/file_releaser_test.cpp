// storage/file_releaser.hpp: a deleted file's blocks are freed a chunk at a
// time off the deleting thread, and its name goes at once.
#include "storage/file_releaser.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <keel/record_batch.hpp>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "storage/partition_log.hpp"
#include "support/temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
namespace file_releaser = keel::file_releaser;

int64_t size_of(int fd) {
  struct stat st {};
  EXPECT_EQ(::fstat(fd, &st), 0);
  return st.st_size;
}

// A file of `bytes` (written, so it holds blocks), open for writing.
int file_of(const std::string& path, int64_t bytes) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  EXPECT_GE(fd, 0) << path;
  const std::vector<char> chunk(1 << 20, 'x');
  for (int64_t done = 0; done < bytes; done += static_cast<int64_t>(chunk.size())) {
    EXPECT_EQ(::write(fd, chunk.data(), chunk.size()), static_cast<ssize_t>(chunk.size()));
  }
  return fd;
}

TEST(FileReleaser, ALargeFileIsCutToNothingAndClosed) {
  keel::test::TempDir dir("keel-releaser");
  const std::string path = dir.sub("big.log");
  const int fd = file_of(path, 3 * file_releaser::kChunkBytes + (1 << 20));
  // A second descriptor of the same file watches what the releaser does.
  const int watch = ::dup(fd);
  ASSERT_GE(watch, 0);
  ASSERT_EQ(::unlink(path.c_str()), 0);
  file_releaser::release(fd);
  file_releaser::drain();
  EXPECT_EQ(size_of(watch), 0);
  ::close(watch);
}

TEST(FileReleaser, ASmallFileIsClosedAsItIs) {
  keel::test::TempDir dir("keel-releaser");
  const std::string path = dir.sub("small.log");
  const int fd = file_of(path, 1 << 20);
  const int watch = ::dup(fd);
  ASSERT_GE(watch, 0);
  ASSERT_EQ(::unlink(path.c_str()), 0);
  file_releaser::release(fd);
  file_releaser::drain();
  EXPECT_EQ(size_of(watch), 1 << 20);  // closed, not cut: one chunk frees fast enough
  ::close(watch);
}

// Retention's deletion of a segment larger than a chunk: the name is gone
// when delete_oldest returns, the blocks once the releaser is done.
TEST(FileReleaser, ARetentionDeleteHandsTheSegmentsBlocksOver) {
  keel::test::TempDir dir("keel-releaser");
  keel::ManualClock clock(1'700'000'000'000);
  keel::LogOptions options;
  options.segment_bytes = file_releaser::kChunkBytes * 2;
  options.recycle_segments = false;
  keel::PartitionLog log("orders", 0, dir.sub("orders-0"), options, &clock);
  log.open(true, 0);
  keel::batch::Builder b(0);
  for (int i = 0; i < 100; ++i) b.add("k", std::string(10'000, 'v'), 1000 + i);
  const std::string batch = b.build();
  while (log.segment_count() < 2) log.append(reinterpret_cast<const uint8_t*>(batch.data()), batch.size());
  const auto first = log.segment_infos().front();
  ASSERT_GT(first.size_bytes, file_releaser::kChunkBytes);
  const std::string path = dir.sub("orders-0") + "/" + keel::Segment::file_name(first.base_offset) + ".log";
  int watch = -1;
  {
    const keel::ReadResult r = log.read(first.base_offset, 1);
    watch = ::dup(r.segment->fd());
  }
  ASSERT_GE(watch, 0);
  ASSERT_EQ(log.delete_oldest(1), 1);
  EXPECT_FALSE(fs::exists(path));
  file_releaser::drain();
  EXPECT_EQ(size_of(watch), 0);
  ::close(watch);
}

}  // namespace
