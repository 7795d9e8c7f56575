// The topics OffsetDelete protects, read from a consumer's JoinGroup
// metadata (Kafka's ConsumerProtocolSubscription); bytes that are not a
// subscription give nullopt, and the caller then protects every topic.
#include "kafka/consumer_subscription.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using keel::kafka::subscribed_topics;

std::string subscription(int16_t version, std::initializer_list<std::string> topics, std::string tail = "") {
  std::string b;
  b += static_cast<char>(version >> 8);
  b += static_cast<char>(version & 0xff);
  const auto n = static_cast<uint32_t>(topics.size());
  for (int s = 24; s >= 0; s -= 8) b += static_cast<char>((n >> s) & 0xff);
  for (const auto& t : topics) {
    b += static_cast<char>(t.size() >> 8);
    b += static_cast<char>(t.size() & 0xff);
    b += t;
  }
  return b + tail;
}

TEST(ConsumerSubscription, ReadsTheTopicsOfEveryVersion) {
  EXPECT_EQ(subscribed_topics(subscription(0, {"orders", "payments"})),
            (std::set<std::string>{"orders", "payments"}));
  // v1+ add user data and owned partitions after the topics: not needed.
  EXPECT_EQ(subscribed_topics(subscription(3, {"a"}, std::string("\xff\xff\xff\xff\0\0\0\0", 8))),
            (std::set<std::string>{"a"}));
  EXPECT_EQ(subscribed_topics(subscription(1, {})), std::set<std::string>{});
}

TEST(ConsumerSubscription, BytesThatAreNotASubscriptionGiveNothing) {
  EXPECT_FALSE(subscribed_topics(""));
  EXPECT_FALSE(subscribed_topics("v1"));  // the test clients' made-up metadata
  std::string cut = subscription(0, {"orders"});
  cut.pop_back();
  EXPECT_FALSE(subscribed_topics(cut));
  EXPECT_FALSE(subscribed_topics(subscription(-1, {"orders"})));
}

}  // namespace
