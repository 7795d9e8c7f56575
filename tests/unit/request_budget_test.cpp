// The broker-wide budget of request bytes (queued_max_request_bytes).
#include "request_budget.hpp"

#include <gtest/gtest.h>

namespace keel {

TEST(RequestBudget, GrantsWhatFitsAndRefusesTheRest) {
  RequestBudget b(100);
  EXPECT_TRUE(b.reserve(60));
  EXPECT_TRUE(b.reserve(40));
  EXPECT_FALSE(b.reserve(1));
  b.release(40);
  EXPECT_TRUE(b.reserve(30));
  EXPECT_EQ(b.used(), 90);
}

TEST(RequestBudget, ARequestLargerThanTheCapProceedsAlone) {
  RequestBudget b(100);
  EXPECT_TRUE(b.reserve(150));  // nothing held: granted, or it would never run
  EXPECT_FALSE(b.reserve(1));   // but nothing else meanwhile
  b.release(150);
  EXPECT_TRUE(b.reserve(10));
  EXPECT_FALSE(b.reserve(150));  // something is held now
}

TEST(RequestBudget, UnboundedStillCounts) {
  RequestBudget b(-1);
  EXPECT_TRUE(b.reserve(1LL << 40));
  EXPECT_TRUE(b.reserve(1LL << 40));
  EXPECT_EQ(b.used(), 2LL << 40);
  b.release(1LL << 40);
  EXPECT_EQ(b.used(), 1LL << 40);
}

}  // namespace keel
