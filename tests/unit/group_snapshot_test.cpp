// The stored form of a consumer group (kafka/group_snapshot.hpp): every
// field survives the round trip, bytes included; the version before members
// were kept is still read; damaged or unknown text is refused with a reason
// (the coordinator then starts the group empty) instead of being guessed at.
#include "kafka/group_snapshot.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace {

using keel::kafka::format_snapshot;
using keel::kafka::GroupSnapshot;
using keel::kafka::GroupState;
using keel::kafka::parse_snapshot;
using namespace std::chrono_literals;

GroupSnapshot two_members() {
  GroupSnapshot s;
  s.state = GroupState::kStable;
  s.generation = 7;
  s.protocol_type = "consumer";
  s.protocol = "range";
  s.leader = "m-1";
  // Subscriptions and assignments are Kafka's binary ConsumerProtocol bytes.
  s.members.push_back({"m-1", "client-1", "/127.0.0.1", 10s, 300s, std::string("\0\1sub\xff", 6),
                       std::string("\0\0\0\2as", 6)});
  s.members.push_back({"m-2", "client-2", "/10.0.0.2", 45s, 60s, "", ""});
  return s;
}

std::string error_of(const std::string& text) {
  try {
    parse_snapshot(text);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

TEST(GroupSnapshot, RoundTripsEveryFieldIncludingBinaryBytes) {
  const GroupSnapshot in = two_members();
  const GroupSnapshot out = parse_snapshot(format_snapshot(in));
  EXPECT_EQ(out.state, GroupState::kStable);
  EXPECT_EQ(out.generation, 7);
  EXPECT_EQ(out.protocol_type, "consumer");
  EXPECT_EQ(out.protocol, "range");
  EXPECT_EQ(out.leader, "m-1");
  ASSERT_EQ(out.members.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(out.members[i].id, in.members[i].id);
    EXPECT_EQ(out.members[i].client_id, in.members[i].client_id);
    EXPECT_EQ(out.members[i].client_host, in.members[i].client_host);
    EXPECT_EQ(out.members[i].session_timeout, in.members[i].session_timeout);
    EXPECT_EQ(out.members[i].rebalance_timeout, in.members[i].rebalance_timeout);
    EXPECT_EQ(out.members[i].subscription, in.members[i].subscription);
    EXPECT_EQ(out.members[i].assignment, in.members[i].assignment);
  }
  EXPECT_NE(format_snapshot(in).find("\"version\":1"), std::string::npos);
}

TEST(GroupSnapshot, TheFormatBeforeMembersWereKeptIsAnEmptyGroup) {
  const GroupSnapshot s = parse_snapshot(R"({"generation": 12, "protocol_type": "consumer"})");
  EXPECT_EQ(s.state, GroupState::kEmpty);
  EXPECT_EQ(s.generation, 12);
  EXPECT_EQ(s.protocol_type, "consumer");
  EXPECT_TRUE(s.members.empty());
}

TEST(GroupSnapshot, DamagedTextIsRefusedWithItsReason) {
  const std::string good = format_snapshot(two_members());
  EXPECT_NE(error_of(good.substr(0, good.size() / 2)).find("not JSON"), std::string::npos);
  EXPECT_NE(error_of("[1, 2]").find("not a JSON object"), std::string::npos);
  EXPECT_NE(error_of(R"({"version": 9, "generation": 1})").find("version 9 is newer"), std::string::npos);
  EXPECT_NE(error_of(R"({"version": 1, "generation": "x"})").find("type must be number"), std::string::npos);

  std::string bad_bytes = good;
  const auto at = bad_bytes.find("\"subscription\":\"") + 16;
  bad_bytes.replace(at, 1, "!");
  EXPECT_NE(error_of(bad_bytes).find("subscription is not base64"), std::string::npos);

  GroupSnapshot no_leader = two_members();
  no_leader.leader = "m-9";
  EXPECT_NE(error_of(format_snapshot(no_leader)).find("leader 'm-9' is not one of the members"),
            std::string::npos);
  GroupSnapshot stable_empty = two_members();
  stable_empty.members.clear();
  EXPECT_NE(error_of(format_snapshot(stable_empty)).find("Stable without members"), std::string::npos);
  std::string unknown_state = good;
  unknown_state.replace(unknown_state.find("Stable"), 6, "Dancing");
  EXPECT_NE(error_of(unknown_state).find("unknown state 'Dancing'"), std::string::npos);
}

// Client strings that are not UTF-8 cannot fail the write (the group would
// then be lost at a restart): they are stored with U+FFFD.
TEST(GroupSnapshot, InvalidUtf8InClientStringsIsReplacedNotFatal) {
  GroupSnapshot s = two_members();
  s.members[1].client_id = "bad\xc3";
  const GroupSnapshot out = parse_snapshot(format_snapshot(s));
  EXPECT_EQ(out.members[1].client_id, "bad\xEF\xBF\xBD");
}

}  // namespace
