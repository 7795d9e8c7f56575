// A disk that refuses writes: the append fails with a clear error naming the
// file, nothing partial stays in the log, earlier data is intact, and appends
// work again once space is back. The first test simulates the refusal of the
// log write with a file-size limit (RLIMIT_FSIZE: EFBIG as a full disk gives
// ENOSPC); the others run on a small tmpfs that really is full (a limit
// cannot stand in for it where index files are mapped), and skip saying why
// where it cannot be mounted.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <keel/record_batch.hpp>
#include <memory>
#include <string>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "plugins/plugin_config.hpp"
#include "plugins/plugin_registry.hpp"
#include "storage/partition_log.hpp"
#include "support/log_capture.hpp"
#include "support/small_fs.hpp"
#include "support/temp_dir.hpp"

namespace keel {
namespace {

class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    ::getrlimit(RLIMIT_FSIZE, &saved_);
    old_handler_ = ::signal(SIGXFSZ, SIG_IGN);
    rlimit r = saved_;
    r.rlim_cur = bytes;
    ::setrlimit(RLIMIT_FSIZE, &r);
  }
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &saved_);
    ::signal(SIGXFSZ, old_handler_);
  }

 private:
  rlimit saved_{};
  sighandler_t old_handler_;
};

std::string batch_of(int records, size_t value_size, int tag) {
  batch::Builder b;
  for (int i = 0; i < records; ++i) {
    b.add("k" + std::to_string(tag), std::string(value_size, static_cast<char>('a' + tag % 26)), 1000 + i);
  }
  return b.build();
}

TEST(DiskFull, AppendFailsCleanlyAndRecovers) {
  test::TempDir dir;
  ManualClock clock(1'700'000'000'000);
  PartitionLog log("full", 0, dir.sub("full-0"), LogOptions{}, &clock);
  log.open(true, 0);

  const std::string small = batch_of(4, 100, 1);
  log.append(reinterpret_cast<const uint8_t*>(small.data()), small.size());
  const int64_t end_before = log.log_end_offset();
  const int64_t size_before = log.size_bytes();

  const std::string big = batch_of(10, 1000, 2);  // ~10 KiB: crosses the limit
  {
    FileSizeLimit limit(static_cast<rlim_t>(size_before + 4096));
    try {
      log.append(reinterpret_cast<const uint8_t*>(big.data()), big.size());
      FAIL() << "append beyond the file-size limit succeeded";
    } catch (const Error& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("00000000000000000000.log"), std::string::npos) << what;
      EXPECT_NE(what.find("failed"), std::string::npos) << what;
    }
  }
  // Nothing of the failed batch is visible or left on disk.
  EXPECT_EQ(log.log_end_offset(), end_before);
  EXPECT_EQ(log.size_bytes(), size_before);
  ReadResult r = log.read(0, 1 << 20);
  ASSERT_EQ(r.length, static_cast<int64_t>(small.size()));

  // Space is back: appends continue at the next offset.
  auto res = log.append(reinterpret_cast<const uint8_t*>(big.data()), big.size());
  EXPECT_EQ(res.base_offset, end_before);
  log.close();

  // And the log reopens cleanly after an unclean stop.
  PartitionLog again("full", 0, dir.sub("full-0"), LogOptions{}, &clock);
  again.open(false, 0);
  EXPECT_EQ(again.log_end_offset(), end_before + 10);
}

// A partition on a 1 MiB tmpfs, with the built-in indexes taking an entry
// for every batch (so that they grow quickly).
class FullDiskLog : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs_.mounted()) GTEST_SKIP() << fs_.why_not();
    doc_ = std::make_shared<toml::table>(
        toml::parse("interval_bytes = 0\nmax_index_bytes = 4096", std::string_view("test.toml")));
    cfg_.settings.tables = {doc_.get()};
    cfg_.settings.table_names = {"[test]"};
    // Start-up checks for room for one batch this large: well below 1 MiB.
    options_.max_batch_bytes = 64 * 1024;
  }
  void use_index(const char* name) {
    options_.indexes.push_back({registry_.require(KEEL_KIND_INDEX, name), &cfg_});
  }

  std::unique_ptr<PartitionLog> open_log(bool clean) {
    auto log = std::make_unique<PartitionLog>("full", 0, fs_.sub("full-0"), options_, &clock_);
    log->open(clean, 0);
    return log;
  }
  static AppendResult append(PartitionLog& log, const std::string& b) {
    return log.append(reinterpret_cast<const uint8_t*>(b.data()), b.size());
  }
  // The status and message of the append, which must fail.
  static Error refused(PartitionLog& log, const std::string& b) {
    try {
      append(log, b);
    } catch (const Error& e) {
      return e;
    }
    ADD_FAILURE() << "append on a full disk succeeded";
    return Error(KEEL_OK, "");
  }
  // Records in the log from offset 0 on, read back batch by batch.
  static int64_t records_readable(const PartitionLog& log) {
    int64_t records = 0;
    for (int64_t offset = 0; offset < log.log_end_offset();) {
      ReadResult r = log.read(offset, 1);
      if (r.length == 0) break;
      std::string bytes(static_cast<size_t>(r.length), '\0');
      EXPECT_EQ(::pread(r.segment->fd(), bytes.data(), bytes.size(), r.position), r.length);
      auto h = batch::parse_header(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
      EXPECT_TRUE(h && h->base_offset == offset) << "read of offset " << offset;
      if (!h || h->base_offset != offset) break;
      records += h->records_count;
      offset = h->last_offset() + 1;
    }
    return records;
  }

  test::SmallFs fs_{1 << 20};
  ManualClock clock_{1'700'000'000'000};
  PluginRegistry registry_{{KEEL_TEST_PLUGIN_DIR}, &clock_};
  std::shared_ptr<toml::table> doc_;
  keel_config cfg_;
  LogOptions options_;
  test::LogCapture logs_;
};

TEST_F(FullDiskLog, IndexGrowthIsAnErrorNotASignalAndTheLogIsCutBack) {
  use_index("sparse-mmap");
  auto log = open_log(true);
  // Batches of 4 mod 8 bytes: once the index's first page (512 entries) is
  // full, the log's last page still has room for one more batch, so the
  // next append writes the log without a new block and only the index needs
  // one.
  std::string b;
  for (size_t v = 40; b.size() % 8 != 4; ++v) b = batch_of(1, v, 0);
  while (log->index_entries() < 512) append(*log, b);
  const int64_t end = log->log_end_offset();
  const int64_t size = log->size_bytes();
  ASSERT_GE(4096 - size % 4096, static_cast<int64_t>(b.size()))
      << "test setup: no room in the log's last page";
  ASSERT_TRUE(fs_.fill());

  const Error e = refused(*log, b);
  EXPECT_EQ(e.code(), KEEL_ERR_NO_SPACE) << e.what();
  EXPECT_NE(std::string(e.what()).find("00000000000000000000.index"), std::string::npos) << e.what();
  EXPECT_NE(std::string(e.what()).find("No space left on device"), std::string::npos) << e.what();
  EXPECT_EQ(log->log_end_offset(), end);
  EXPECT_EQ(log->size_bytes(), size) << "the log was not cut back to the last acknowledged batch";
  EXPECT_TRUE(log->out_of_space());
  // The log write itself fails too once it needs a block.
  EXPECT_EQ(refused(*log, batch_of(10, 1000, 1)).code(), KEEL_ERR_NO_SPACE);
  EXPECT_EQ(logs_.count("disk full"), 1) << "one line per episode, not per produce";
  EXPECT_EQ(records_readable(*log), end);

  fs_.free_filler();
  EXPECT_EQ(append(*log, b).base_offset, end);
  EXPECT_FALSE(log->out_of_space());
  EXPECT_EQ(logs_.count("disk space is back"), 1);
  log.reset();  // no close(): as after a kill

  auto again = open_log(false);
  EXPECT_EQ(again->log_end_offset(), end + 1);
  EXPECT_EQ(records_readable(*again), end + 1);
}

TEST_F(FullDiskLog, OpensAfterAnUncleanStopOnAFullDiskAndSaysSoOnce) {
  use_index("sparse-mmap");
  use_index("timestamp");
  auto log = open_log(true);
  for (int i = 0; i < 50; ++i) append(*log, batch_of(3, 50, i));
  log.reset();  // no close(): as after a kill
  ASSERT_TRUE(fs_.fill());

  log = open_log(false);
  EXPECT_TRUE(log->out_of_space());
  ASSERT_EQ(logs_.count("disk full"), 1);
  EXPECT_EQ(logs_.count("full-0: disk full"), 1);
  EXPECT_EQ(records_readable(*log), 150);
  // ~10 KiB: more than the free rest of the log's last page.
  const std::string big = batch_of(10, 1000, 99);
  EXPECT_EQ(refused(*log, big).code(), KEEL_ERR_NO_SPACE);
  EXPECT_EQ(logs_.count("disk full"), 1);

  fs_.free_filler();
  EXPECT_EQ(append(*log, big).base_offset, 150);
  EXPECT_FALSE(log->out_of_space());
  EXPECT_EQ(records_readable(*log), 160);
}

TEST_F(FullDiskLog, IndexesThatCannotBeRebuiltAreLeftOutUntilThereIsRoom) {
  use_index("sparse-mmap");
  use_index("timestamp");
  auto log = open_log(true);
  for (int i = 0; i < 1200; ++i) append(*log, batch_of(1, 10, i));  // entries fill more than a page
  log->close();
  log.reset();
  const std::string dir = fs_.sub("full-0");
  std::filesystem::remove(dir + "/00000000000000000000.index");
  std::filesystem::remove(dir + "/00000000000000000000.timeindex");
  ASSERT_TRUE(fs_.fill());

  log = open_log(true);
  ASSERT_EQ(logs_.count("disk full"), 1);
  EXPECT_EQ(log->index_entries(), 0) << "the segment opened without its indexes";
  EXPECT_EQ(records_readable(*log), 1200) << "reads scan the unindexed segment";
  EXPECT_EQ(log->find_time(1000).first, 0);
  EXPECT_EQ(refused(*log, batch_of(1, 10, 1)).code(), KEEL_ERR_NO_SPACE);

  fs_.free_filler();
  EXPECT_EQ(append(*log, batch_of(1, 10, 1)).base_offset, 1200);
  EXPECT_EQ(log->segment_count(), 2u) << "appends go to a new, indexed segment";
  EXPECT_EQ(records_readable(*log), 1201);
  log->close();
  log.reset();

  log = open_log(true);
  EXPECT_GT(log->index_entries(), 1000) << "the next start indexes the first segment again";
  EXPECT_EQ(records_readable(*log), 1201);
}

}  // namespace
}  // namespace keel
