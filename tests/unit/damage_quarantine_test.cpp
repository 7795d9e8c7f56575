// Damage that is not a torn tail: bytes of flushed, acknowledged batches
// changed, zeroed, cut or removed on disk (a failing disk, an operator's
// mistake). The damaged range is quarantined: the segments after it stay,
// every intact batch is served byte for byte, reads of the damaged offsets
// fail with KEEL_ERR_CORRUPT, and the log end never falls below what was
// acknowledged, so no offset is handed out twice.
#include <fstream>

#include "support/recovery_fixture.hpp"

namespace {

using namespace keel::test;

void overwrite(const std::string& path, int64_t pos, const std::string& bytes) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  ASSERT_TRUE(f) << path;
  f.seekp(pos);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Adds `delta` to the position of every entry of an offset index (8-byte
// entries: relative offset, position) but the last `keep_last`, keeping
// them ordered: each then points into the middle of a batch.
void shift_index_positions(const std::string& path, uint32_t delta, size_t keep_last) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  ASSERT_TRUE(f) << path;
  std::vector<char> data((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  size_t entries = 0;
  while ((entries + 1) * 8 <= data.size() &&
         (data[entries * 8 + 4] || data[entries * 8 + 5] || data[entries * 8 + 6] || data[entries * 8 + 7])) {
    ++entries;
  }
  for (size_t i = 0; i + keep_last < entries; ++i) {
    auto* p = reinterpret_cast<uint8_t*>(&data[i * 8 + 4]);
    uint32_t v = (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
    v += delta;
    p[0] = static_cast<uint8_t>(v >> 24);
    p[1] = static_cast<uint8_t>(v >> 16);
    p[2] = static_cast<uint8_t>(v >> 8);
    p[3] = static_cast<uint8_t>(v);
  }
  f.seekp(0);
  f.write(data.data(), static_cast<std::streamsize>(data.size()));
}

class DamageTest : public RecoveryTest {
 protected:
  // Several segments, cleanly closed.
  void write_segments(int batches, int64_t segment_bytes) {
    options_.segment_bytes = segment_bytes;
    write_log(batches, /*clean=*/true);
    ASSERT_GE(segments_, 3u);
  }

  // The stored batches of segment #n.
  std::vector<size_t> in_segment(size_t n) const {
    std::vector<size_t> out;
    const std::string path = segment_paths().at(n);
    for (size_t i = 0; i < stored_.size(); ++i) {
      if (stored_[i].segment == path) out.push_back(i);
    }
    return out;
  }

  // The ways a broker may find the damage: after a clean stop or a crash,
  // with or without a recovery checkpoint covering everything.
  struct Start {
    bool clean;
    int64_t recovery_point;
  };
  std::vector<Start> starts() const { return {{true, end_}, {false, end_}, {true, 0}, {false, 0}}; }
  static std::string describe(const Start& s) {
    return std::string(s.clean ? "clean" : "unclean") + " start, recovery point " +
           std::to_string(s.recovery_point);
  }
};

TEST_P(DamageTest, OverwrittenLengthInAClosedSegmentKeepsTheSegmentsAfterIt) {
  write_segments(40, 1024);
  const size_t k = in_segment(0).at(1);
  for (const Start& s : starts()) {
    restore();
    overwrite(stored_[k].segment, stored_[k].position + 8, std::string("\x00\x00\x10\x00", 4));
    auto log = open_log(s.clean, s.recovery_point);
    EXPECT_EQ(log->segment_count(), segments_) << describe(s);
    expect_quarantined(*log, {k}, end_, describe(s));
  }
}

TEST_P(DamageTest, FlippedPayloadByteInAClosedSegmentIsFoundByReadOrRecovery) {
  write_segments(40, 1024);
  const size_t k = in_segment(1).at(1);
  for (const Start& s : starts()) {
    restore();
    flip_byte(stored_[k].segment, stored_[k].position + 70);
    auto log = open_log(s.clean, s.recovery_point);
    EXPECT_EQ(log->segment_count(), segments_) << describe(s);
    expect_quarantined(*log, {k}, end_, describe(s));
  }
}

TEST_P(DamageTest, ZeroedPageLosesOnlyTheBatchesItTouches) {
  write_segments(700, 24 * 1024);
  const std::string first = segment_paths().front();
  const std::set<size_t> lost = overlapping(first, 8192, 12288);
  ASSERT_GE(lost.size(), 10u);
  for (const Start& s : starts()) {
    restore();
    overwrite(first, 8192, std::string(4096, '\0'));
    auto log = open_log(s.clean, s.recovery_point);
    expect_quarantined(*log, lost, end_, describe(s));
  }
}

TEST_P(DamageTest, ClosedSegmentCutShortKeepsTheSegmentsAfterIt) {
  write_segments(40, 1024);
  const auto batches = in_segment(0);
  const size_t k = batches.at(batches.size() / 2);
  const std::set<size_t> lost(batches.begin() + static_cast<std::ptrdiff_t>(batches.size() / 2),
                              batches.end());
  for (const Start& s : starts()) {
    restore();
    truncate_file(stored_[k].segment, stored_[k].position + 30);
    auto log = open_log(s.clean, s.recovery_point);
    EXPECT_EQ(log->segment_count(), segments_) << describe(s);
    expect_quarantined(*log, lost, end_, describe(s));
  }
}

TEST_P(DamageTest, MissingOrEmptiedClosedSegmentIsAReportedGap) {
  write_segments(40, 1024);
  const auto batches = in_segment(1);
  const std::set<size_t> lost(batches.begin(), batches.end());
  const std::string victim = segment_paths().at(1);
  for (bool remove : {true, false}) {
    for (const Start& s : starts()) {
      restore();
      if (remove) {
        fs::remove(victim);
      } else {
        truncate_file(victim, 0);
      }
      auto log = open_log(s.clean, s.recovery_point);
      const auto damage = log->damaged_ranges();
      ASSERT_EQ(damage.size(), 1u) << describe(s);
      EXPECT_EQ(damage[0].first_offset, stored_[*lost.begin()].base);
      EXPECT_EQ(damage[0].last_offset, stored_[*lost.rbegin()].last);
      expect_quarantined(*log, lost, end_, describe(s) + (remove ? ", file removed" : ", file emptied"));
    }
  }
}

TEST_P(DamageTest, LastSegmentCutShortNeverMovesTheLogEndBack) {
  write_segments(40, 1024);
  const auto batches = in_segment(segment_paths().size() - 1);
  ASSERT_GE(batches.size(), 2u);
  for (int64_t keep : {int64_t{0}, stored_[batches[1]].position + 20}) {
    restore();
    truncate_file(stored_[batches[0]].segment, keep);
    // Clean stop: everything up to end_ was flushed and acknowledged.
    auto log = open_log(true, end_);
    const size_t first_lost = keep == 0 ? 0 : 1;
    const std::set<size_t> lost(batches.begin() + first_lost, batches.end());
    expect_quarantined(*log, lost, end_, "last segment cut to " + std::to_string(keep) + " bytes");
  }
}

TEST_P(DamageTest, FlushedDamageInTheLastSegmentIsQuarantinedAndTheTornTailCut) {
  write_log(12, /*clean=*/false);
  const size_t k = 5;
  // Flushed up to the end: a flipped byte is damage, not a torn write.
  restore();
  flip_byte(stored_[k].segment, stored_[k].position + 70);
  {
    auto log = open_log(false, end_);
    expect_quarantined(*log, {k}, end_, "recovery point at the end");
  }
  // Flushed only up to batch k: the same bytes are a torn write and cut.
  restore();
  flip_byte(stored_[k].segment, stored_[k].position + 70);
  auto log = open_log(false, stored_[k].base);
  expect_recovered(*log, k, "recovery point at the damaged batch");
}

TEST_P(DamageTest, ReadsNeverServeBytesThatFailTheirCrc) {
  write_log(12, /*clean=*/true);
  const size_t k = 3;
  restore();
  flip_byte(stored_[k].segment, stored_[k].position + 70);
  auto log = open_log(true, end_);  // a clean start verifies nothing up front
  EXPECT_TRUE(log->damaged_ranges().empty());
  // A read spanning the damage stops before it...
  keel::ReadResult r = log->read(stored_[k - 1].base, 1 << 20);
  EXPECT_EQ(read_bytes(r), stored_[k - 1].bytes);
  // ...and one of the damaged batch fails, naming it.
  try {
    log->read(stored_[k].base, 1 << 20);
    ADD_FAILURE() << "damaged batch served";
  } catch (const keel::Error& e) {
    EXPECT_EQ(e.code(), KEEL_ERR_CORRUPT);
    EXPECT_THAT(e.what(), ::testing::HasSubstr(stored_[k].segment));
  }
  const auto damage = log->damaged_ranges();
  ASSERT_EQ(damage.size(), 1u);
  EXPECT_EQ(damage[0].first_offset, stored_[k].base);
  EXPECT_EQ(damage[0].last_offset, stored_[k + 1].base - 1);
  EXPECT_EQ(damage[0].position, stored_[k].position);
  // A walk over the log reports the damage, or throws without a handler.
  EXPECT_THROW(log->for_each_batch([](const uint8_t*, size_t) { return true; }), keel::Error);
  size_t visited = 0;
  size_t reported = 0;
  log->for_each_batch([&](const uint8_t*, size_t) { return ++visited > 0; },
                      [&](const keel::DamagedRange&) { ++reported; });
  EXPECT_EQ(visited, stored_.size() - 1);
  EXPECT_EQ(reported, 1u);
  expect_quarantined(*log, {k}, end_, "after the reads");
}

INSTANTIATE_TEST_SUITE_P(Indexes, DamageTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "WithIndexes" : "NoIndexes"; });

class IndexDamageTest : public DamageTest {};

TEST_P(IndexDamageTest, IndexEntriesPointingIntoBatchesAreNotTrusted) {
  write_segments(40, 1024);
  for (size_t keep_last : {size_t{0}, size_t{1}}) {
    restore();
    auto before = [&] {
      auto log = open_log(true, end_);
      return lookups(*log);
    }();
    restore();
    for (const auto& e : fs::directory_iterator(part_dir())) {
      if (e.path().extension() == ".index") shift_index_positions(e.path().string(), 7, keep_last);
    }
    // keep_last 0: the open-time check sees the newest entry is wrong and
    // rebuilds; 1: it looks right, and reads must not trust the others.
    auto log = open_log(true, end_);
    EXPECT_EQ(lookups(*log), before) << "keep_last " << keep_last;
    expect_quarantined(*log, {}, end_, "index shifted");
  }
}

INSTANTIATE_TEST_SUITE_P(Indexes, IndexDamageTest, ::testing::Values(true),
                         [](const auto&) { return std::string("WithIndexes"); });

}  // namespace
