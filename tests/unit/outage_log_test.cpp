// OutageLog (observability/outage_log.hpp): the first failure of every
// outage is warned at once, later ones at most once per interval by time,
// and recovery reports how many attempts failed.
#include "observability/outage_log.hpp"

#include <gtest/gtest.h>

namespace keel {
namespace {

TEST(OutageLog, FirstFailureThenOncePerIntervalByTime) {
  OutageLog log(10000);
  EXPECT_TRUE(log.failed(1000));
  // Many quick failures within the interval: silent, however many.
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(log.failed(1000 + i));
  EXPECT_EQ(log.failures(), 101);
  EXPECT_FALSE(log.failed(10999));
  EXPECT_TRUE(log.failed(11000));
  // Slow failures (each a whole request timeout) still get one line per
  // interval, where "every 50th" would wait for 50 of them.
  EXPECT_TRUE(log.failed(21000));
  EXPECT_TRUE(log.failed(31500));
  EXPECT_EQ(log.failures(), 105);
}

TEST(OutageLog, ANewOutageIsWarnedAtOnceHoweverSoonAfterTheLast) {
  OutageLog log(10000);
  EXPECT_TRUE(log.failed(5000));
  EXPECT_FALSE(log.failed(5001));
  EXPECT_EQ(log.recovered(), 2);
  EXPECT_EQ(log.failures(), 0);
  EXPECT_EQ(log.recovered(), 0);  // nothing failed since: nothing to report
  // 1 ms later, well within the interval: a new outage, said at once.
  EXPECT_TRUE(log.failed(5002));
  EXPECT_EQ(log.failures(), 1);
}

}  // namespace
}  // namespace keel
