// GroupFence: which commits a group takes, as keel_group_commit in
// keel/plugin.h promises (the broker's fence, whatever the transport).
#include "groups/group_fence.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <keel/plugin.h>

#include <atomic>
#include <string>
#include <thread>

#include "common/error.hpp"

namespace {

using keel::GroupFence;
using testing::HasSubstr;

// The status a check ends with (KEEL_OK when the commit may be stored) and
// its message.
std::pair<keel_status, std::string> verdict(const GroupFence& f, const std::string& group,
                                            const std::string& member, int32_t generation) {
  try {
    f.check(group, member, generation);
    return {KEEL_OK, ""};
  } catch (const keel::Error& e) {
    return {e.code(), e.what()};
  }
}

TEST(GroupFence, AGroupWithoutMembersTakesCommitsOutsideAnyProtocolOnly) {
  GroupFence f;
  EXPECT_EQ(verdict(f, "g", "", KEEL_GENERATION_NONE).first, KEEL_OK);
  // A member id or a generation names a group membership the group does not
  // have (its session expired, or the broker restarted): rejoin first.
  auto [status, message] = verdict(f, "g", "consumer-1", 4);
  EXPECT_EQ(status, KEEL_ERR_UNKNOWN_MEMBER);
  EXPECT_THAT(message, HasSubstr("'g'"));
  EXPECT_THAT(message, HasSubstr("consumer-1"));
  EXPECT_THAT(message, HasSubstr("generation 4"));
  EXPECT_THAT(message, HasSubstr("rejoin"));
  EXPECT_EQ(verdict(f, "g", "", 4).first, KEEL_ERR_UNKNOWN_MEMBER);
  EXPECT_EQ(verdict(f, "g", "consumer-1", KEEL_GENERATION_NONE).first, KEEL_ERR_UNKNOWN_MEMBER);
}

TEST(GroupFence, ALiveGroupTakesItsMembersInItsGenerationOnly) {
  GroupFence f;
  f.set_members("g", 7, {"b", "a"});
  EXPECT_EQ(verdict(f, "g", "a", 7).first, KEEL_OK);
  EXPECT_EQ(verdict(f, "g", "b", 7).first, KEEL_OK);

  auto [stale, stale_message] = verdict(f, "g", "a", 6);
  EXPECT_EQ(stale, KEEL_ERR_FENCED);
  EXPECT_THAT(stale_message, HasSubstr("generation 7"));
  EXPECT_THAT(stale_message, HasSubstr("generation 6"));
  EXPECT_THAT(stale_message, HasSubstr("member 'a'"));
  EXPECT_EQ(verdict(f, "g", "a", 8).first, KEEL_ERR_FENCED);  // not a generation it has either

  auto [stranger, stranger_message] = verdict(f, "g", "zombie", 7);
  EXPECT_EQ(stranger, KEEL_ERR_UNKNOWN_MEMBER);
  EXPECT_THAT(stranger_message, HasSubstr("zombie"));

  // A commit from outside the protocol (HTTP, tools) while consumers are live.
  auto [outside, outside_message] = verdict(f, "g", "", KEEL_GENERATION_NONE);
  EXPECT_EQ(outside, KEEL_ERR_UNKNOWN_MEMBER);
  EXPECT_THAT(outside_message, HasSubstr("2 live member(s) in generation 7"));
  EXPECT_THAT(outside_message, HasSubstr("wait until its consumers have closed"));

  // Other groups are not affected.
  EXPECT_EQ(verdict(f, "other", "", KEEL_GENERATION_NONE).first, KEEL_OK);
}

TEST(GroupFence, ANewGenerationFencesTheOldOneAndAnEmptyGroupOpensAgain) {
  GroupFence f;
  f.set_members("g", 1, {"a"});
  f.set_members("g", 2, {"a", "c"});
  EXPECT_EQ(verdict(f, "g", "a", 1).first, KEEL_ERR_FENCED);
  EXPECT_EQ(verdict(f, "g", "c", 2).first, KEEL_OK);
  EXPECT_EQ(f.live_groups(), 1u);

  f.set_members("g", KEEL_GENERATION_NONE, {});
  EXPECT_EQ(f.live_groups(), 0u);
  EXPECT_EQ(verdict(f, "g", "", KEEL_GENERATION_NONE).first, KEEL_OK);
  EXPECT_EQ(verdict(f, "g", "a", 2).first, KEEL_ERR_UNKNOWN_MEMBER);
}

TEST(GroupFence, AdmitStagesOnlyWhatPassesTheCheck) {
  GroupFence f;
  f.set_members("g", 3, {"a"});
  int staged = 0;
  EXPECT_EQ(f.admit("g", "a", 3, [&] { return ++staged; }), 1);
  EXPECT_THROW(f.admit("g", "a", 2, [&] { return ++staged; }), keel::Error);
  EXPECT_THROW(f.admit("g", "", KEEL_GENERATION_NONE, [&] { return ++staged; }), keel::Error);
  EXPECT_EQ(staged, 1);
}

// The check and the staging happen under one shared lock: a generation
// published by another thread is seen either before the check or after the
// staging, never in between.
TEST(GroupFence, AGenerationPublishedDuringAdmitWaitsForTheStaging) {
  GroupFence f;
  f.set_members("g", 1, {"a"});
  std::atomic<bool> staging{false};
  std::atomic<bool> published{false};
  std::thread publisher;
  bool published_while_staging = true;
  f.admit("g", "a", 1, [&] {
    staging = true;
    publisher = std::thread([&] {
      f.set_members("g", 2, {"a"});
      published = true;
    });
    // Bounded wait for the publisher to reach the lock: it must not get it
    // while this staging runs.
    for (int i = 0; i < 1000 && !published; ++i) std::this_thread::yield();
    published_while_staging = published.load();
    return 0;
  });
  publisher.join();
  EXPECT_TRUE(staging.load());
  EXPECT_FALSE(published_while_staging);
  EXPECT_EQ(verdict(f, "g", "a", 1).first, KEEL_ERR_FENCED);
  EXPECT_EQ(verdict(f, "g", "a", 2).first, KEEL_OK);
}

// delete_group refuses a group in use: has_members follows what was
// published.
TEST(GroupFence, HasMembersFollowsThePublishedGeneration) {
  keel::GroupFence f;
  EXPECT_FALSE(f.has_members("g"));
  f.set_members("g", 4, {"a"});
  EXPECT_TRUE(f.has_members("g"));
  EXPECT_FALSE(f.has_members("other"));
  f.set_members("g", KEEL_GENERATION_NONE, {});
  EXPECT_FALSE(f.has_members("g"));
}

}  // namespace
