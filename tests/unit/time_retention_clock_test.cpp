// The `time` retention driven directly (its class, not through the plugin
// ABI, which retention_plugins_test.cpp covers) at the ends of the clock and
// of retention_ms, where Kafka's rule "delete when now - newest timestamp >
// retention.ms" must neither overflow nor delete what it should keep.
#include <gtest/gtest.h>

#include <cstdint>
#include <keel/plugin.hpp>
#include <limits>
#include <string>
#include <vector>

#include "retention/time/time_retention.hpp"
#include "support/plugin_fixture.hpp"

namespace keel::retention {
namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

// How many of `newest` (one segment's newest timestamp each, the last one
// active) the retention selects at now_ms.
size_t selected(const std::string& toml, const std::vector<int64_t>& newest, int64_t now_ms) {
  test::TestHost host;
  test::TestConfig config(toml);
  TimeRetention retention(sdk::Host(host.get()), sdk::Config(host.get(), config.get()));
  std::vector<keel_segment_info> infos;
  for (const int64_t ts : newest) {
    keel_segment_info s{};
    s.struct_size = sizeof s;
    s.size_bytes = 100;
    s.max_timestamp = ts;
    s.last_modified_ms = ts;
    infos.push_back(s);
  }
  return retention.select(sdk::Segments(infos.data(), infos.size(), sizeof(keel_segment_info)), now_ms);
}

TEST(TimeRetentionClock, AClockBeforeTheRetentionWindowExpiresNothing) {
  // now - retention_ms underflows int64: no record can be that old.
  EXPECT_EQ(selected("retention_ms = 1000", {0, 0, 0}, kMin + 10), 0u);
  EXPECT_EQ(selected("retention_ms = 1000", {0, 0}, kMin), 0u);
}

TEST(TimeRetentionClock, TheLongestRetentionKeepsEverything) {
  EXPECT_EQ(selected("retention_ms = 9223372036854775807", {0, 1, 2}, 1'700'000'000'000), 0u);
  // Even at the clock's end the cutoff is 0: nothing is older than that.
  EXPECT_EQ(selected("retention_ms = 9223372036854775807", {0, 1, 2}, kMax), 0u);
}

TEST(TimeRetentionClock, AtTheClocksEndEveryClosedSegmentHasExpired) {
  EXPECT_EQ(selected("retention_ms = 1", {0, kMax - 2, kMax - 1}, kMax), 2u);
  // One millisecond short of expiry: kMax - 1 is exactly retention_ms old.
  EXPECT_EQ(selected("retention_ms = 1", {kMax - 1, 0}, kMax), 0u);
}

}  // namespace
}  // namespace keel::retention
