// LoopActivity: whether another connection of an event loop sent a request
// lately, which keeps a Produce from syncing on the loop's thread.
#include <gtest/gtest.h>

#include <chrono>

#include "transport/kafka/loop_activity.hpp"

namespace {

using keel::kafka::LoopActivity;
using std::chrono::microseconds;

TEST(LoopActivity, OneConnectionAloneIsQuietWhateverItsRate) {
  LoopActivity loop;
  int a = 0;
  const auto t0 = LoopActivity::Clock::time_point{} + std::chrono::seconds(100);
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(loop.dispatched(&a, t0 + microseconds(10 * i)));
  EXPECT_EQ(loop.requests.load(), 100u) << "what the accepting thread balances new connections by";
}

TEST(LoopActivity, AnotherConnectionWithinTheQuietTimeMakesTheLoopBusyForBoth) {
  LoopActivity loop;
  int a = 0;
  int b = 0;
  const auto t0 = LoopActivity::Clock::time_point{} + std::chrono::seconds(100);
  EXPECT_TRUE(loop.dispatched(&a, t0));
  EXPECT_FALSE(loop.dispatched(&b, t0 + microseconds(100))) << "a sent 100 us ago";
  EXPECT_FALSE(loop.dispatched(&a, t0 + microseconds(200))) << "b sent 100 us ago";
  EXPECT_FALSE(loop.dispatched(&a, t0 + microseconds(300))) << "b is still the most recent other sender";
  // b falls quiet: a alone again once b's last request is kQuiet old.
  EXPECT_TRUE(loop.dispatched(&a, t0 + microseconds(100) + LoopActivity::kQuiet));
}

TEST(LoopActivity, ManyConnectionsTakingTurnsKeepTheLoopBusy) {
  LoopActivity loop;
  int conns[8] = {};
  const auto t0 = LoopActivity::Clock::time_point{} + std::chrono::seconds(100);
  EXPECT_TRUE(loop.dispatched(&conns[0], t0));
  for (int i = 1; i < 64; ++i) {
    EXPECT_FALSE(loop.dispatched(&conns[i % 8], t0 + microseconds(50 * i))) << "request " << i;
  }
}

}  // namespace
