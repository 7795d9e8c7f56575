#include "group_offsets.hpp"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <keel/crc32c.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "error.hpp"

namespace keel {
namespace {

namespace fs = std::filesystem;

class GroupOffsetStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    dir_ = fs::temp_directory_path() /
           ("keel-group-offsets-" + std::to_string(::getpid()) + "-" +
            std::to_string(std::random_device{}()) + "-" + std::to_string(counter++));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string dir() const { return dir_.string(); }
  fs::path journal() const { return dir_ / GroupOffsetStore::kJournalName; }

  std::string read_journal() const {
    std::ifstream in(journal(), std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }
  void write_journal(const std::string& bytes) const {
    std::ofstream out(journal(), std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }

  fs::path dir_;
};

TEST_F(GroupOffsetStoreTest, CommitFetchAndOverwrite) {
  GroupOffsetStore s(dir());
  EXPECT_EQ(s.fetch("g", "t", 0), std::nullopt);
  s.commit("g", "t", 0, 42, "meta", 1000);
  auto c = s.fetch("g", "t", 0);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->offset, 42);
  EXPECT_EQ(c->metadata, "meta");
  EXPECT_EQ(c->commit_time_ms, 1000);
  s.commit("g", "t", 0, 50, "", 2000);
  c = s.fetch("g", "t", 0);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->offset, 50);
  EXPECT_EQ(c->metadata, "");
  EXPECT_EQ(c->commit_time_ms, 2000);
  EXPECT_EQ(s.fetch("g", "t", 1), std::nullopt);
  EXPECT_EQ(s.fetch("other", "t", 0), std::nullopt);
  EXPECT_EQ(s.fetch("g", "u", 0), std::nullopt);
}

TEST_F(GroupOffsetStoreTest, PersistsAcrossReopen) {
  {
    GroupOffsetStore s(dir());
    s.commit("g1", "orders", 0, 10, "a", 1);
    s.commit("g1", "orders", 1, 11, "b", 2);
    s.commit("g1", "orders", 0, 12, "c", 3);
    s.commit("g2", "payments", 7, 70, "", 4);
  }
  GroupOffsetStore s(dir());
  auto g1 = s.group_offsets("g1");
  ASSERT_EQ(g1.size(), 2u);
  EXPECT_EQ(g1.at({"orders", 0}).offset, 12);
  EXPECT_EQ(g1.at({"orders", 0}).metadata, "c");
  EXPECT_EQ(g1.at({"orders", 0}).commit_time_ms, 3);
  EXPECT_EQ(g1.at({"orders", 1}).offset, 11);
  EXPECT_EQ(s.fetch("g2", "payments", 7)->offset, 70);
  EXPECT_TRUE(s.group_offsets("nobody").empty());
}

TEST_F(GroupOffsetStoreTest, MetadataAndNamesRoundTripExactly) {
  const std::string binary("a\0b\xff\n\"", 6);
  const std::string large(5000, 'm');
  {
    GroupOffsetStore s(dir());
    s.commit("g", "t", 0, 1, "", 0);
    s.commit("g", "t", 1, 2, binary, -5);
    s.commit("g", "t", 2, 3, large, 9);
    s.commit(binary, binary, -1, -1, binary, 0);
    s.commit("", "", 0, std::numeric_limits<int64_t>::max(), "x", std::numeric_limits<int64_t>::min());
  }
  GroupOffsetStore s(dir());
  EXPECT_EQ(s.fetch("g", "t", 0)->metadata, "");
  EXPECT_EQ(s.fetch("g", "t", 1)->metadata, binary);
  EXPECT_EQ(s.fetch("g", "t", 1)->commit_time_ms, -5);
  EXPECT_EQ(s.fetch("g", "t", 2)->metadata, large);
  EXPECT_EQ(s.fetch(binary, binary, -1)->offset, -1);
  EXPECT_EQ(s.fetch(binary, binary, -1)->metadata, binary);
  EXPECT_EQ(s.fetch("", "", 0)->offset, std::numeric_limits<int64_t>::max());
  EXPECT_EQ(s.fetch("", "", 0)->commit_time_ms, std::numeric_limits<int64_t>::min());
}

TEST_F(GroupOffsetStoreTest, GroupsAreSorted) {
  GroupOffsetStore s(dir());
  EXPECT_TRUE(s.groups().empty());
  s.commit("zeta", "t", 0, 1, "", 0);
  s.commit("alpha", "t", 0, 1, "", 0);
  s.commit("mid", "t", 0, 1, "", 0);
  s.commit("alpha", "u", 3, 1, "", 0);
  EXPECT_EQ(s.groups(), (std::vector<std::string>{"alpha", "mid", "zeta"}));
}

TEST_F(GroupOffsetStoreTest, TornTailAtEveryBytePositionKeepsEarlierCommits) {
  size_t first_end = 0;
  {
    GroupOffsetStore s(dir());
    s.commit("g", "t", 0, 1, "first", 100);
    s.commit("g", "t", 1, 2, "second", 200);
    first_end = fs::file_size(journal());
    s.commit("g", "t", 2, 3, "torn", 300);
  }
  const std::string full = read_journal();
  ASSERT_GT(full.size(), first_end);
  for (size_t cut = first_end; cut < full.size(); ++cut) {
    SCOPED_TRACE("journal cut at byte " + std::to_string(cut));
    write_journal(full.substr(0, cut));
    {
      GroupOffsetStore s(dir());
      EXPECT_EQ(fs::file_size(journal()), first_end);
      EXPECT_EQ(s.fetch("g", "t", 0)->metadata, "first");
      EXPECT_EQ(s.fetch("g", "t", 1)->offset, 2);
      EXPECT_EQ(s.fetch("g", "t", 2), std::nullopt);
      s.commit("g", "t", 3, 4, "after", 400);
    }
    GroupOffsetStore s(dir());
    EXPECT_EQ(s.fetch("g", "t", 1)->offset, 2);
    ASSERT_TRUE(s.fetch("g", "t", 3));
    EXPECT_EQ(s.fetch("g", "t", 3)->metadata, "after");
  }
}

TEST_F(GroupOffsetStoreTest, FlippedByteInLastRecordDropsIt) {
  size_t first_end = 0;
  {
    GroupOffsetStore s(dir());
    s.commit("g", "t", 0, 1, "keep", 100);
    first_end = fs::file_size(journal());
    s.commit("g", "t", 1, 2, "lose", 200);
  }
  const std::string full = read_journal();
  for (size_t pos = first_end; pos < full.size(); ++pos) {
    SCOPED_TRACE("flipped byte " + std::to_string(pos));
    std::string damaged = full;
    damaged[pos] = static_cast<char>(damaged[pos] ^ 0x5A);
    write_journal(damaged);
    GroupOffsetStore s(dir());
    EXPECT_EQ(fs::file_size(journal()), first_end);
    EXPECT_EQ(s.fetch("g", "t", 0)->metadata, "keep");
    EXPECT_EQ(s.fetch("g", "t", 1), std::nullopt);
  }
}

TEST_F(GroupOffsetStoreTest, ZeroFilledTailIsDropped) {
  {
    GroupOffsetStore s(dir());
    s.commit("g", "t", 0, 1, "keep", 100);
  }
  const std::string full = read_journal();
  write_journal(full + std::string(4096, '\0'));
  GroupOffsetStore s(dir());
  EXPECT_EQ(fs::file_size(journal()), full.size());
  EXPECT_EQ(s.fetch("g", "t", 0)->offset, 1);
}

TEST_F(GroupOffsetStoreTest, UnknownRecordWithValidChecksumIsAnErrorNotATruncation) {
  {
    GroupOffsetStore s(dir());
    s.commit("g", "t", 0, 1, "keep", 100);
  }
  const std::string payload = "\x09some future record";
  std::string record(8, '\0');
  const uint32_t len = static_cast<uint32_t>(payload.size());
  const uint32_t crc = crc32c(payload.data(), payload.size());
  for (int i = 0; i < 4; ++i) {
    record[i] = static_cast<char>((len >> (8 * i)) & 0xFF);
    record[4 + i] = static_cast<char>((crc >> (8 * i)) & 0xFF);
  }
  const std::string bytes = read_journal() + record + payload;
  write_journal(bytes);
  try {
    GroupOffsetStore s(dir());
    FAIL() << "opened a journal with an unknown record type";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), KEEL_ERR_CORRUPT);
    EXPECT_NE(std::string(e.what()).find("consumer-offsets.journal"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("unknown type 9"), std::string::npos) << e.what();
  }
  EXPECT_EQ(read_journal(), bytes);
}

TEST_F(GroupOffsetStoreTest, RemoveTopicDropsItFromEveryGroupDurably) {
  {
    GroupOffsetStore s(dir());
    s.commit("g1", "a", 0, 1, "", 0);
    s.commit("g1", "a", 1, 2, "", 0);
    s.commit("g1", "b", 0, 3, "", 0);
    s.commit("g2", "a", 5, 4, "", 0);
    s.commit("g3", "aa", 0, 5, "", 0);
    s.commit("g3", "", 0, 6, "", 0);
    s.remove_topic("a");
    EXPECT_EQ(s.fetch("g1", "a", 0), std::nullopt);
    EXPECT_EQ(s.fetch("g1", "a", 1), std::nullopt);
    EXPECT_EQ(s.fetch("g1", "b", 0)->offset, 3);
    EXPECT_EQ(s.groups(), (std::vector<std::string>{"g1", "g3"}));

    const auto before = fs::file_size(journal());
    s.remove_topic("never-committed");
    EXPECT_EQ(fs::file_size(journal()), before);
  }
  GroupOffsetStore s(dir());
  EXPECT_EQ(s.groups(), (std::vector<std::string>{"g1", "g3"}));
  EXPECT_EQ(s.group_offsets("g1").size(), 1u);
  EXPECT_EQ(s.fetch("g3", "aa", 0)->offset, 5);
  EXPECT_EQ(s.fetch("g3", "", 0)->offset, 6);
  // The topic can come back.
  s.commit("g2", "a", 0, 9, "", 0);
  EXPECT_EQ(s.fetch("g2", "a", 0)->offset, 9);
}

TEST_F(GroupOffsetStoreTest, CompactionKeepsJournalSmall) {
  GroupOffsetStoreOptions options;
  options.compact_min_bytes = 2048;
  {
    GroupOffsetStore s(dir(), options);
    for (int i = 0; i < 300; ++i) {
      s.commit("group", "topic", i % 3, i, "m" + std::to_string(i), i);
      ASSERT_LE(fs::file_size(journal()), options.compact_min_bytes) << "after commit " << i;
    }
    s.remove_topic("gone");  // a no-op must not disturb anything
    s.commit("other", "gone", 0, 1, "", 0);
    s.remove_topic("gone");
  }
  EXPECT_FALSE(fs::exists(journal().string() + ".tmp"));
  GroupOffsetStore s(dir(), options);
  EXPECT_EQ(s.groups(), (std::vector<std::string>{"group"}));
  for (int p = 0; p < 3; ++p) {
    auto c = s.fetch("group", "topic", p);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->offset, 297 + p);
    EXPECT_EQ(c->metadata, "m" + std::to_string(297 + p));
    EXPECT_EQ(c->commit_time_ms, 297 + p);
  }
  s.commit("group", "topic", 0, 1000, "", 0);
  EXPECT_EQ(s.fetch("group", "topic", 0)->offset, 1000);
}

TEST_F(GroupOffsetStoreTest, OpeningCompactsAnOverlongJournal) {
  {
    GroupOffsetStore s(dir());  // default threshold: nothing compacts here
    for (int i = 0; i < 100; ++i) s.commit("g", "t", 0, i, "", 0);
  }
  const auto long_size = fs::file_size(journal());
  GroupOffsetStoreOptions options;
  options.compact_min_bytes = 0;
  GroupOffsetStore s(dir(), options);
  EXPECT_LT(fs::file_size(journal()), long_size / 10);
  EXPECT_EQ(s.fetch("g", "t", 0)->offset, 99);
}

TEST_F(GroupOffsetStoreTest, ConcurrentCommitsAreAllKept) {
  constexpr int kThreads = 4;
  constexpr int kCommits = 25;
  {
    GroupOffsetStore s(dir());
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&s, t] {
        for (int i = 0; i < kCommits; ++i) {
          s.commit("g" + std::to_string(t), "t", i, i * 10, "", 0);
          (void)s.fetch("g0", "t", 0);
        }
      });
    }
    for (auto& th : threads) th.join();
  }
  GroupOffsetStore s(dir());
  ASSERT_EQ(s.groups().size(), static_cast<size_t>(kThreads));
  for (int t = 0; t < kThreads; ++t) {
    auto offsets = s.group_offsets("g" + std::to_string(t));
    ASSERT_EQ(offsets.size(), static_cast<size_t>(kCommits));
    for (int i = 0; i < kCommits; ++i) EXPECT_EQ(offsets.at({"t", i}).offset, i * 10);
  }
}

TEST_F(GroupOffsetStoreTest, SecondStoreOnSameDirectoryIsRefused) {
  GroupOffsetStore s(dir());
  try {
    GroupOffsetStore second(dir());
    FAIL() << "two stores share one journal";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), KEEL_ERR_UNAVAILABLE);
  }
  s.commit("g", "t", 0, 1, "", 0);
  EXPECT_EQ(s.fetch("g", "t", 0)->offset, 1);
}

// A write the OS refuses (here: beyond RLIMIT_FSIZE, EFBIG) must leave the
// stored offsets and the journal as they were.
TEST_F(GroupOffsetStoreTest, FailedWriteChangesNothing) {
  GroupOffsetStore s(dir());
  s.commit("g", "t", 0, 1, "old", 0);
  const auto size_before = fs::file_size(journal());

  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &saved), 0);
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  rlimit tight = saved;
  tight.rlim_cur = size_before + 10;  // room for part of the next record only
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &tight), 0);
  bool threw = false;
  std::string message;
  try {
    s.commit("g", "t", 0, 2, std::string(100, 'n'), 0);
  } catch (const Error& e) {
    threw = true;
    message = e.what();
    EXPECT_EQ(e.code(), KEEL_ERR_IO);
  }
  ::setrlimit(RLIMIT_FSIZE, &saved);
  std::signal(SIGXFSZ, old_handler);

  ASSERT_TRUE(threw);
  EXPECT_NE(message.find(journal().string()), std::string::npos) << message;
  EXPECT_EQ(s.fetch("g", "t", 0)->offset, 1);
  EXPECT_EQ(s.fetch("g", "t", 0)->metadata, "old");
  EXPECT_EQ(fs::file_size(journal()), size_before);

  s.commit("g", "t", 1, 3, "", 0);
  EXPECT_EQ(s.fetch("g", "t", 1)->offset, 3);
}

TEST_F(GroupOffsetStoreTest, FailedWriteLeavesAJournalThatReplaysCleanly) {
  {
    GroupOffsetStore s(dir());
    s.commit("g", "t", 0, 1, "old", 0);
    rlimit saved{};
    ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &saved), 0);
    auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
    rlimit tight = saved;
    tight.rlim_cur = fs::file_size(journal()) + 10;
    ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &tight), 0);
    EXPECT_THROW(s.commit("g", "t", 0, 2, std::string(100, 'n'), 0), Error);
    ::setrlimit(RLIMIT_FSIZE, &saved);
    std::signal(SIGXFSZ, old_handler);
    s.commit("g", "t", 1, 3, "", 0);
  }
  GroupOffsetStore s(dir());
  EXPECT_EQ(s.fetch("g", "t", 0)->offset, 1);
  EXPECT_EQ(s.fetch("g", "t", 1)->offset, 3);
}

}  // namespace
}  // namespace keel
