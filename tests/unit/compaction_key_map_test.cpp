// The compaction cleaner's key -> newest offset map, alone: what Kafka's
// log cleaner needs of its offset map (the newest offset of each key, keys
// told apart exactly, never a silently dropped key when memory runs out: a
// full map refuses the key so that the pass ends before it and the next pass
// goes on from there). The passes themselves are in compaction_test.cpp.
#include <gtest/gtest.h>

#include <string>

#include "retention/compaction/key_offset_map.hpp"

namespace keel::compaction {
namespace {

TEST(CompactionKeyMap, KeepsTheNewestOffsetOfEachKey) {
  KeyOffsetMap map(1 << 20);
  EXPECT_EQ(map.newest("k"), -1);
  ASSERT_TRUE(map.put("k", 3));
  ASSERT_TRUE(map.put("k", 9));
  ASSERT_TRUE(map.put("k", 5));  // an older record of the key read later
  EXPECT_EQ(map.newest("k"), 9);
  EXPECT_EQ(map.size(), 1u);
}

TEST(CompactionKeyMap, TellsKeysApartByEveryByte) {
  KeyOffsetMap map(1 << 20);
  const std::string with_nul("a\0b", 3);
  ASSERT_TRUE(map.put("a", 1));
  ASSERT_TRUE(map.put(with_nul, 2));
  ASSERT_TRUE(map.put("", 3));  // the empty key is a key (a null key is not: refused before)
  ASSERT_TRUE(map.put("\xff\xfe", 4));
  EXPECT_EQ(map.newest("a"), 1);
  EXPECT_EQ(map.newest(with_nul), 2);
  EXPECT_EQ(map.newest(""), 3);
  EXPECT_EQ(map.newest("\xff\xfe"), 4);
  EXPECT_EQ(map.newest(std::string("a\0", 2)), -1);
  EXPECT_EQ(map.size(), 4u);
}

TEST(CompactionKeyMap, AFullMapRefusesNewKeysButUpdatesKnownOnes) {
  const int64_t one = KeyOffsetMap::entry_cost(1);
  KeyOffsetMap map(2 * one);
  ASSERT_TRUE(map.put("a", 1));
  ASSERT_TRUE(map.put("b", 2));
  EXPECT_EQ(map.used_bytes(), 2 * one);
  EXPECT_FALSE(map.put("c", 3));
  EXPECT_EQ(map.newest("c"), -1);  // nothing changed
  EXPECT_EQ(map.size(), 2u);
  EXPECT_EQ(map.used_bytes(), 2 * one);
  EXPECT_TRUE(map.put("a", 10));  // a known key costs nothing more
  EXPECT_EQ(map.newest("a"), 10);
}

TEST(CompactionKeyMap, LongKeysCountTheirOwnBytes) {
  EXPECT_EQ(KeyOffsetMap::entry_cost(0), KeyOffsetMap::entry_cost(15));  // in the string itself
  EXPECT_GT(KeyOffsetMap::entry_cost(16), KeyOffsetMap::entry_cost(15));
  EXPECT_EQ(KeyOffsetMap::entry_cost(1016) - KeyOffsetMap::entry_cost(16), 1000);
  const std::string big(4096, 'x');
  KeyOffsetMap map(KeyOffsetMap::entry_cost(big.size()) - 1);
  EXPECT_FALSE(map.put(big, 1));
  EXPECT_TRUE(map.put("small", 1));
}

}  // namespace
}  // namespace keel::compaction
