// The "did you mean" helper behind every unknown-name message (config keys,
// strategy names): edit distance, the nearness threshold, the wording.
#include "common/suggestion.hpp"

#include <gtest/gtest.h>

namespace {

using keel::closest;
using keel::did_you_mean;
using keel::edit_distance;

TEST(Suggestion, EditDistanceCountsInsertionsDeletionsAndSubstitutions) {
  EXPECT_EQ(edit_distance("", ""), 0u);
  EXPECT_EQ(edit_distance("key-hash", "key-hash"), 0u);
  EXPECT_EQ(edit_distance("key-hsh", "key-hash"), 1u);    // insertion
  EXPECT_EQ(edit_distance("key-hashh", "key-hash"), 1u);  // deletion
  EXPECT_EQ(edit_distance("kay-hash", "key-hash"), 1u);   // substitution
  EXPECT_EQ(edit_distance("kye-hash", "key-hash"), 2u);   // a swap is two edits
  EXPECT_EQ(edit_distance("", "size"), 4u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("abc", "xyz"), edit_distance("xyz", "abc"));
}

TEST(Suggestion, ClosestPicksTheNearestWithinTheThreshold) {
  const std::vector<std::string> partitioners = {"key-hash", "round-robin"};
  EXPECT_EQ(closest("key-hsh", partitioners), "key-hash");
  EXPECT_EQ(closest("roundrobin", partitioners), "round-robin");
  EXPECT_EQ(closest("Key-Hash", partitioners), "key-hash");  // two substitutions, within 2
  // Far from both: no guess rather than a wrong one.
  EXPECT_EQ(closest("murmur2", partitioners), std::nullopt);
  EXPECT_EQ(closest("x", {}), std::nullopt);
}

TEST(Suggestion, ThresholdGrowsWithTheLengthOfTheWord) {
  // max(2, |word| / 3) edits: 2 for short words, more for long ones.
  EXPECT_EQ(closest("tme", {"time"}), "time");
  EXPECT_EQ(closest("zzzz", {"time"}), std::nullopt);       // 4 edits > 2
  const std::string long_name = "offsets_topic_retention";  // 23 chars: up to 7 edits
  EXPECT_EQ(closest("offset_topic_retentoin", {long_name}), long_name);
}

TEST(Suggestion, TiesGoToTheFirstCandidate) {
  EXPECT_EQ(closest("sise", {"size", "site"}), "size");
  EXPECT_EQ(closest("sise", {"site", "size"}), "site");
}

TEST(Suggestion, DidYouMeanOrTheList) {
  EXPECT_EQ(did_you_mean("tme", {"time", "size"}, "allowed"), "; did you mean 'time'?");
  EXPECT_EQ(did_you_mean("zzzzzz", {"time", "size"}, "allowed are"), "; allowed are: time, size");
}

}  // namespace
