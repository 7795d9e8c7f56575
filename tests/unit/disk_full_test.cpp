// A disk that refuses writes: the append fails with a clear error naming the
// segment, nothing partial stays in the log, earlier data is intact, and
// appends work again once space is back. The refusal is simulated with a
// file-size limit (RLIMIT_FSIZE), which makes write() fail with EFBIG exactly
// as a full disk makes it fail with ENOSPC.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <keel/record_batch.hpp>

#include "clock.hpp"
#include "error.hpp"
#include "partition_log.hpp"
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

}  // namespace
}  // namespace keel
