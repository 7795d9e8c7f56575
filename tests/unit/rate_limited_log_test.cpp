// RateLimitedLog: one line per key per interval, with the count of the
// lines suppressed in between on the next one; driven by an injected clock.
#include "observability/rate_limited_log.hpp"

#include <gtest/gtest.h>

#include <cstdint>

#include "support/log_capture.hpp"

namespace {

constexpr int64_t kSecond = 1'000'000'000;

TEST(RateLimitedLog, OneLinePerKeyPerIntervalThenTheSuppressedCount) {
  keel::test::LogCapture log;
  int64_t now = 5 * kSecond;
  keel::RateLimitedLog limited(10 * kSecond, [&] { return now; });

  EXPECT_TRUE(limited.warn("index 'a'", "index 'a' failed: one"));
  EXPECT_FALSE(limited.warn("index 'a'", "index 'a' failed: two"));
  now += 9 * kSecond;
  EXPECT_FALSE(limited.warn("index 'a'", "index 'a' failed: three"));
  // Another key has its own allowance.
  EXPECT_TRUE(limited.warn("index 'b'", "index 'b' failed"));

  now += kSecond;  // 10 s after the first line
  EXPECT_TRUE(limited.warn("index 'a'", "index 'a' failed: four"));
  EXPECT_EQ(log.count("failed: one"), 1);
  EXPECT_EQ(log.count("failed: two"), 0);
  EXPECT_EQ(log.count("failed: three"), 0);
  EXPECT_EQ(log.count("index 'a' failed: four (2 more like it suppressed since the last one)"), 1);
  EXPECT_EQ(log.count("index 'b' failed"), 1);

  // Nothing was suppressed since: no count on the next line.
  now += 10 * kSecond;
  EXPECT_TRUE(limited.warn("index 'a'", "index 'a' failed: five"));
  EXPECT_EQ(log.count("failed: five (") + log.count("failed: five"), 1);
}

}  // namespace
