// The reader of the pre-topic offsets journal, used once to migrate it.
#include "groups/legacy_offsets_journal.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "common/error.hpp"
#include "support/legacy_offsets_journal_writer.hpp"
#include "support/temp_dir.hpp"

namespace keel {
namespace {

using test::journal_commit;
using test::journal_frame;
using test::journal_remove_topic;

class LegacyOffsetsJournalTest : public ::testing::Test {
 protected:
  std::string write(const std::string& bytes) {
    const std::string path = (dir_.path() / kLegacyOffsetsJournal).string();
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
    return path;
  }
  test::TempDir dir_{"keel-legacy-offsets"};
};

TEST_F(LegacyOffsetsJournalTest, LaterCommitsWinAndRemovedTopicsGo) {
  auto got = read_legacy_offsets_journal(write(
      journal_commit("g", "t", 0, 5, "m", 7) + journal_commit("g", "t", 0, 9) +
      journal_commit("g", "gone", 1, 3) + journal_commit("h", "t", 2, 4) + journal_remove_topic("gone")));
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ((got[{"g", "t", 0}].offset), 9);
  EXPECT_EQ((got[{"h", "t", 2}].offset), 4);
}

TEST_F(LegacyOffsetsJournalTest, MetadataAndTimeRoundTrip) {
  auto got =
      read_legacy_offsets_journal(write(journal_commit("g", "t", 3, 42, std::string("a\0b", 3), 1234)));
  const auto& c = got[{"g", "t", 3}];
  EXPECT_EQ(c.offset, 42);
  EXPECT_EQ(c.metadata, std::string("a\0b", 3));
  EXPECT_EQ(c.commit_time_ms, 1234);
}

TEST_F(LegacyOffsetsJournalTest, TornTailAtEveryBytePositionKeepsEarlierCommits) {
  const std::string first = journal_commit("g", "t", 0, 1);
  const std::string second = journal_commit("g", "t", 0, 2);
  for (size_t cut = 0; cut < second.size(); ++cut) {
    auto got = read_legacy_offsets_journal(write(first + second.substr(0, cut)));
    ASSERT_EQ(got.size(), 1u) << "cut at " << cut;
    EXPECT_EQ((got[{"g", "t", 0}].offset), 1) << "cut at " << cut;
  }
}

TEST_F(LegacyOffsetsJournalTest, FlippedByteOrZeroTailDropsOnlyTheLastRecord) {
  std::string second = journal_commit("g", "t", 0, 2);
  second[second.size() - 3] ^= 0x40;
  auto got = read_legacy_offsets_journal(write(journal_commit("g", "t", 0, 1) + second));
  EXPECT_EQ((got[{"g", "t", 0}].offset), 1);
  got = read_legacy_offsets_journal(write(journal_commit("g", "t", 0, 1) + std::string(64, '\0')));
  EXPECT_EQ((got[{"g", "t", 0}].offset), 1);
}

TEST_F(LegacyOffsetsJournalTest, UnknownRecordWithValidChecksumIsAnError) {
  const std::string path = write(journal_commit("g", "t", 0, 1) + journal_frame(std::string("\x07xyz", 4)));
  try {
    read_legacy_offsets_journal(path);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), KEEL_ERR_CORRUPT);
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("unknown type 7"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace keel
