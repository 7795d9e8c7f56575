// Segment rewriting (ABI 1.2) through a real Topic and the test plugin
// `test-drop-odd`, which keeps only batches with an even base offset: kept
// batches keep their offsets, reads and indexes work across the gaps, old
// readers keep their bytes, a crash at any step of the commit leaves the old
// or the new segments after recovery, and compacted topics refuse null keys.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <keel/codec.hpp>
#include <keel/record_batch.hpp>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "plugins/plugin_registry.hpp"
#include "storage/log_rewriter.hpp"
#include "storage/partition_log.hpp"
#include "support/batch_bytes.hpp"
#include "support/temp_dir.hpp"
#include "topic.hpp"

namespace {

namespace fs = std::filesystem;
namespace batch = keel::batch;
using ::testing::HasSubstr;

using keel::test::bytes;

std::string record_batch(int64_t i) {
  batch::Builder b(0);
  b.add("key" + std::to_string(i), "value-" + std::to_string(i), 1000 + i);
  return b.build();
}

std::string pread_all(int fd, int64_t pos, int64_t len) {
  std::string out(static_cast<size_t>(len), '\0');
  EXPECT_EQ(::pread(fd, out.data(), out.size(), pos), len);
  return out;
}

// base offset -> value of its one record, walking the whole log.
std::map<int64_t, std::string> contents(const keel::PartitionLog& log) {
  std::map<int64_t, std::string> out;
  int64_t offset = log.log_start_offset();
  while (offset < log.log_end_offset()) {
    keel::ReadResult r = log.read(offset, 1 << 20);
    if (!r.segment) break;
    const std::string data = pread_all(r.segment->fd(), r.position, r.length);
    size_t pos = 0;
    while (pos < data.size()) {
      auto h = batch::parse_header(bytes(data) + pos, data.size() - pos);
      auto records = batch::decode(bytes(data) + pos, h->total_size());
      out[h->base_offset] = records.at(0).value.value_or("<null>");
      offset = h->last_offset() + 1;
      pos += h->total_size();
    }
  }
  return out;
}

std::set<std::string> file_names(const std::string& dir) {
  std::set<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.insert(e.path().filename().string());
  return out;
}

// Every file is a segment's log or index, or the clean points.
void expect_no_stray_files(const std::string& dir) {
  for (const auto& n : file_names(dir)) {
    if (n == "cleaner-offsets") continue;
    EXPECT_EQ(n.find(".cleaned"), std::string::npos) << n;
    EXPECT_EQ(n.find(".swap"), std::string::npos) << n;
    EXPECT_EQ(n.find(".deleted"), std::string::npos) << n;
    EXPECT_EQ(n.find(".replaced-end"), std::string::npos) << n;
    EXPECT_EQ(n.find(".tmp"), std::string::npos) << n;
  }
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class LogRewriteTest : public ::testing::Test {
 protected:
  std::unique_ptr<keel::Topic> open_topic(bool clean = true, bool requires_keys = false,
                                          const std::string& retention = "test-drop-odd") {
    keel::TopicConfig cfg;
    cfg.name = "compacted";
    cfg.partitions = 1;
    cfg.segment_bytes = 400;
    cfg.retention = {retention};
    // An entry for every batch, so that lookups in a rewritten segment go
    // through its new indexes.
    index_doc_ = std::make_shared<toml::table>(
        toml::parse("interval_bytes = 1\nmax_index_bytes = 4096", std::string_view("index.toml")));
    for (const auto& index : cfg.index) {
      cfg.plugin_settings[index].tables = {index_doc_.get()};
      cfg.plugin_settings[index].table_names = {"[index]"};
    }
    if (requires_keys) {
      doc_ =
          std::make_shared<toml::table>(toml::parse("requires_keys = true", std::string_view("test.toml")));
      cfg.plugin_settings[retention].tables = {doc_.get()};
      cfg.plugin_settings[retention].table_names = {"[test]"};
    }
    auto topic = std::make_unique<keel::Topic>(cfg, registry_, dir_.path().string(), &clock_);
    topic->open(clean, [](int32_t) { return int64_t{0}; });
    return topic;
  }

  std::string part_dir() const { return keel::Topic::partition_dir(dir_.path().string(), "compacted", 0); }

  // Appends batches 0..n-1 (one record each) and returns the first offset of
  // the active segment: everything below is in closed segments.
  int64_t fill(keel::Topic& topic, int n) {
    auto log = topic.partition(0);
    for (int i = 0; i < n; ++i) log->append(bytes(record_batch(i)), record_batch(i).size());
    return log->segment_infos().back().base_offset;
  }

  static std::map<int64_t, std::string> expected(int n, int64_t active_base, bool rewritten) {
    std::map<int64_t, std::string> out;
    for (int64_t i = 0; i < n; ++i) {
      if (!rewritten || i >= active_base || i % 2 == 0) out[i] = "value-" + std::to_string(i);
    }
    return out;
  }

  keel::test::TempDir dir_{"keel-rewrite"};
  keel::ManualClock clock_{1'700'000'000'000};
  keel::PluginRegistry registry_{{KEEL_TEST_PLUGIN_DIR, KEEL_TEST_BAD_PLUGIN_DIR}, &clock_};
  std::shared_ptr<toml::table> doc_;
  std::shared_ptr<toml::table> index_doc_;
};

TEST_F(LogRewriteTest, RewriteKeepsTheEvenBatchesAtTheirOffsets) {
  auto topic = open_topic();
  const int64_t active_base = fill(*topic, 30);
  auto log = topic->partition(0);
  const size_t segments_before = log->segment_count();
  ASSERT_GE(segments_before, 3u);
  ASSERT_GT(active_base, 4);

  topic->apply_retention(clock_.now_ms());
  EXPECT_EQ(contents(*log), expected(30, active_base, true));
  EXPECT_EQ(log->segment_count(), 2u);  // one replacement + the active one
  EXPECT_EQ(log->log_start_offset(), 0);
  EXPECT_EQ(log->log_end_offset(), 30);
  EXPECT_EQ(read_text(part_dir() + "/cleaner-offsets"),
            "test-drop-odd " + std::to_string(active_base) + "\n");
  expect_no_stray_files(part_dir());

  // An offset in a gap inside the segment reads the next batch.
  keel::ReadResult r = log->read(3, 1);
  ASSERT_TRUE(r.segment);
  auto h = batch::parse_header(bytes(pread_all(r.segment->fd(), r.position, r.length)), r.length);
  EXPECT_EQ(h->base_offset, 4);
  // The rewritten segment's indexes answer: time lookups land on kept batches.
  EXPECT_EQ(log->find_time(1000 + 5), (std::pair<int64_t, int64_t>{6, 1006}));
  EXPECT_EQ(log->find_time(1000 + 8), (std::pair<int64_t, int64_t>{8, 1008}));
  // The replacement was indexed: one entry per batch after each segment's
  // first (position 0 needs none) in each of the two indexes, and reads from
  // the middle land on the right batch through them.
  const auto infos = log->segment_infos();
  int64_t kept = 0;
  for (int64_t i = 0; i < active_base; i += 2) ++kept;
  EXPECT_EQ(log->index_entries(), 2 * ((kept - 1) + (30 - active_base - 1)));
  EXPECT_EQ(infos.front().next_offset, (active_base - 1) / 2 * 2 + 1);
  for (int64_t offset = 0; offset + 1 < active_base; ++offset) {
    keel::ReadResult mid = log->read(offset, 1);
    ASSERT_TRUE(mid.segment);
    const std::string data = pread_all(mid.segment->fd(), mid.position, mid.length);
    EXPECT_EQ(batch::parse_header(bytes(data), data.size())->base_offset,
              offset % 2 == 0 ? offset : offset + 1);
  }

  // The clean point stops the strategy from redoing the work.
  auto files = file_names(part_dir());
  topic->apply_retention(clock_.now_ms());
  EXPECT_EQ(file_names(part_dir()), files);
  EXPECT_EQ(contents(*log), expected(30, active_base, true));

  // It survives a restart.
  topic->close();
  topic.reset();
  topic = open_topic();
  EXPECT_EQ(contents(*topic->partition(0)), expected(30, active_base, true));
  EXPECT_EQ(topic->partition(0)->find_time(1000 + 5), (std::pair<int64_t, int64_t>{6, 1006}));
}

TEST_F(LogRewriteTest, LaterSegmentsAreRewrittenFromTheCleanPoint) {
  auto topic = open_topic();
  const int64_t first_active = fill(*topic, 20);
  topic->apply_retention(clock_.now_ms());
  auto log = topic->partition(0);
  for (int i = 20; i < 40; ++i) log->append(bytes(record_batch(i)), record_batch(i).size());
  const int64_t active_base = log->segment_infos().back().base_offset;
  ASSERT_GT(active_base, first_active);
  topic->apply_retention(clock_.now_ms());
  EXPECT_EQ(contents(*log), expected(40, active_base, true));
  EXPECT_EQ(log->segment_count(), 3u);
  EXPECT_EQ(read_text(part_dir() + "/cleaner-offsets"),
            "test-drop-odd " + std::to_string(active_base) + "\n");
  expect_no_stray_files(part_dir());
}

TEST_F(LogRewriteTest, AReaderOfAReplacedSegmentKeepsItsBytesUntilItLetsGo) {
  auto topic = open_topic();
  fill(*topic, 30);
  auto log = topic->partition(0);
  keel::ReadResult held = log->read(1, 1 << 20);
  ASSERT_TRUE(held.segment);
  const std::string before = pread_all(held.segment->fd(), held.position, held.length);
  ASSERT_EQ(batch::parse_header(bytes(before), before.size())->base_offset, 1);

  topic->apply_retention(clock_.now_ms());
  EXPECT_EQ(pread_all(held.segment->fd(), held.position, held.length), before);
  bool renamed_files = false;
  for (const auto& n : file_names(part_dir())) renamed_files |= n.ends_with(".deleted");
  EXPECT_TRUE(renamed_files);

  held = {};
  expect_no_stray_files(part_dir());
  // The replacement's files (same base as the old segment) survived the old
  // segment's index instances closing.
  topic->close();
  topic.reset();
  topic = open_topic();
  EXPECT_EQ(topic->partition(0)->read(1, 1 << 20).segment != nullptr, true);
}

struct CrashCase {
  const char* step;
  bool rewritten;  // what recovery must leave
  bool clean_persisted;
};

class LogRewriteCrashTest : public LogRewriteTest, public ::testing::WithParamInterface<CrashCase> {};

TEST_P(LogRewriteCrashTest, RecoveryLeavesTheOldOrTheNewSegmentsWhole) {
  const CrashCase c = GetParam();
  auto topic = open_topic();
  const int64_t active_base = fill(*topic, 30);
  bool hit = false;
  topic->partition(0)->set_rewrite_failpoint([&](const char* step) {
    if (std::string(step) == c.step) {
      hit = true;
      throw keel::RewriteCrash();
    }
  });
  // A reader holding an old segment across the "crash" keeps its renamed
  // files on disk until recovery, which must delete them.
  keel::ReadResult held = topic->partition(0)->read(1, 1 << 20);
  topic->apply_retention(clock_.now_ms());
  ASSERT_TRUE(hit);
  // No close(): the process "died".
  topic.reset();

  topic = open_topic(false);
  EXPECT_EQ(contents(*topic->partition(0)), expected(30, active_base, c.rewritten));
  expect_no_stray_files(part_dir());
  held = {};
  const std::string offsets = read_text(part_dir() + "/cleaner-offsets");
  EXPECT_EQ(offsets, c.clean_persisted ? "test-drop-odd " + std::to_string(active_base) + "\n" : "");

  // The next round ends in the rewritten state either way. Without a clean
  // point it rewrites the replacement again, which now ends at its last kept
  // batch.
  topic->apply_retention(clock_.now_ms());
  EXPECT_EQ(contents(*topic->partition(0)), expected(30, active_base, true));
  const int64_t clean = c.rewritten && !c.clean_persisted ? (active_base - 1) / 2 * 2 + 1 : active_base;
  EXPECT_EQ(read_text(part_dir() + "/cleaner-offsets"), "test-drop-odd " + std::to_string(clean) + "\n");
  expect_no_stray_files(part_dir());
}

INSTANTIATE_TEST_SUITE_P(Steps, LogRewriteCrashTest,
                         ::testing::Values(CrashCase{"before-renames", false, false},
                                           CrashCase{"after-cleaned-to-swap", true, false},
                                           CrashCase{"after-old-renamed", true, false},
                                           CrashCase{"after-swap-to-final", true, false},
                                           CrashCase{"before-clean-offset", true, false},
                                           CrashCase{"after-clean-offset", true, true}),
                         [](const auto& info) {
                           std::string n = info.param.step;
                           for (auto& ch : n) ch = ch == '-' ? '_' : ch;
                           return n;
                         });

TEST_F(LogRewriteTest, ACompactedTopicRefusesNullKeysAndWritesNothing) {
  auto topic = open_topic(true, true);
  auto log = topic->partition(0);
  batch::Builder keyed(0);
  keyed.add("a", "1", 1000);
  batch::Builder with_null(0);
  with_null.add("b", "2", 1000).add(std::nullopt, "3", 1001);
  const std::string request = keyed.build() + with_null.build();
  try {
    log->append(bytes(request), request.size());
    ADD_FAILURE() << "a null key was accepted";
  } catch (const keel::Error& e) {
    EXPECT_EQ(e.code(), KEEL_ERR_INVALID_ARGUMENT);
    EXPECT_THAT(e.what(), HasSubstr("rejected batch #1, record #1 for compacted-0"));
    EXPECT_THAT(e.what(), HasSubstr("null key and the topic is compacted: give every record a key"));
  }
  EXPECT_EQ(log->log_end_offset(), 0);
  EXPECT_EQ(log->size_bytes(), 0);

  const std::string gz = keel::codec::build_batch(
      {batch::Record{0, 1000, "k1", "v1", {}}, batch::Record{0, 1001, "k2", std::nullopt, {}}},
      batch::Compression::Gzip);
  const std::string plain = keyed.build();
  EXPECT_EQ(log->append(bytes(plain), plain.size()).base_offset, 0);
  EXPECT_EQ(log->append(bytes(gz), gz.size()).base_offset, 1);
  EXPECT_EQ(log->log_end_offset(), 3);

  const std::string gz_null =
      keel::codec::build_batch({batch::Record{0, 1000, std::nullopt, "v", {}}}, batch::Compression::Gzip);
  EXPECT_THROW(log->append(bytes(gz_null), gz_null.size()), keel::Error);
  EXPECT_EQ(log->log_end_offset(), 3);
}

TEST_F(LogRewriteTest, TopicsThatDoNotCompactAcceptNullKeys) {
  auto topic = open_topic(true, false);
  batch::Builder b(0);
  b.add(std::nullopt, "v", 1000);
  const std::string data = b.build();
  EXPECT_EQ(topic->partition(0)->append(bytes(data), data.size()).base_offset, 0);
}

TEST_F(LogRewriteTest, StrategiesWithoutRewriteLeaveSegmentsAlone) {
  auto topic = open_topic(true, false, "size");
  const int64_t active_base = fill(*topic, 30);
  topic->apply_retention(clock_.now_ms());
  EXPECT_EQ(contents(*topic->partition(0)), expected(30, active_base, false));
  EXPECT_FALSE(fs::exists(part_dir() + "/cleaner-offsets"));
}

}  // namespace
