// The built-in retention `compaction` (Kafka's cleanup.policy=compact)
// through a real Topic with small segments: a random workload checked against
// a model of what compaction must keep (newest record of every key at its
// original offset, batches rebuilt in their codec with their producer fields,
// tombstones until delete_retention_ms), multi-pass cleans with a small key
// map, the settings that hold a clean back, compaction combined with `size`,
// producers' emptied batches, null keys and refused settings.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <keel/codec.hpp>
#include <keel/record_batch.hpp>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "../../plugins/retention/compaction/io_throttle.hpp"
#include "common/clock.hpp"
#include "common/error.hpp"
#include "plugins/plugin_registry.hpp"
#include "storage/partition_log.hpp"
#include "support/batch_bytes.hpp"
#include "support/log_capture.hpp"
#include "support/temp_dir.hpp"
#include "topic.hpp"

namespace {

namespace kb = keel::batch;
using keel::test::LogCapture;
using ::testing::HasSubstr;

constexpr int64_t kStart = 1'700'000'000'000;
constexpr int64_t kHour = 3'600'000;

using keel::test::bytes;

std::string pread_all(int fd, int64_t pos, int64_t len) {
  std::string out(static_cast<size_t>(len), '\0');
  EXPECT_EQ(::pread(fd, out.data(), out.size(), pos), len);
  return out;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

using keel::test::LogCapture;

// One batch as read back from the log: CRC checked, records decoded.
struct StoredBatch {
  std::string bytes;
  kb::Header header;
  std::vector<kb::Record> records;
};

std::vector<StoredBatch> read_log(const keel::PartitionLog& log) {
  std::vector<StoredBatch> out;
  int64_t offset = log.log_start_offset();
  while (offset < log.log_end_offset()) {
    keel::ReadResult r = log.read(offset, 1 << 20);
    if (!r.segment) break;
    const std::string data = pread_all(r.segment->fd(), r.position, r.length);
    for (size_t pos = 0; pos < data.size();) {
      const std::string why = kb::validate(bytes(data) + pos, data.size() - pos);
      if (!why.empty()) {
        ADD_FAILURE() << "batch after offset " << offset << " is invalid: " << why;
        return out;
      }
      const kb::Header h = *kb::parse_header(bytes(data) + pos, data.size() - pos);
      StoredBatch b{data.substr(pos, h.total_size()), h, {}};
      b.records = keel::codec::decode_batch(bytes(b.bytes), b.bytes.size());
      offset = h.last_offset() + 1;
      pos += h.total_size();
      out.push_back(std::move(b));
    }
  }
  return out;
}

// A batch as the model knows it: what was appended, at its assigned offsets.
struct ModelBatch {
  std::string bytes;  // as stored by the append (base offset filled in)
  kb::Compression codec = kb::Compression::None;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  int32_t base_sequence = -1;
  std::vector<kb::Record> records;

  int64_t base() const { return records.front().offset; }
  int32_t last_offset_delta() const { return static_cast<int32_t>(records.size() - 1); }
};

// What a fully compacted log must hold: below `clean` only the newest record
// of each key (a tombstone only at or after `expired_below`); from `clean` on
// everything, byte for byte. Below `log_start`, nothing.
struct Expectation {
  int64_t log_start = 0;
  int64_t clean = 0;
  int64_t expired_below = 0;
};

class Model {
 public:
  void add(ModelBatch b) { batches_.push_back(std::move(b)); }
  const std::vector<ModelBatch>& batches() const { return batches_; }

  std::set<int64_t> kept_offsets(const Expectation& e) const {
    std::map<std::string, int64_t> newest;
    for (const auto& b : batches_) {
      for (const auto& r : b.records) {
        if (r.offset < e.clean) newest[*r.key] = r.offset;
      }
    }
    std::set<int64_t> kept;
    for (const auto& b : batches_) {
      for (const auto& r : b.records) {
        if (r.offset < e.log_start) continue;
        const bool expired_tombstone = !r.value && r.offset < e.expired_below;
        if (r.offset >= e.clean || (newest[*r.key] == r.offset && !expired_tombstone)) kept.insert(r.offset);
      }
    }
    return kept;
  }

  // producer id -> base offset of its newest batch in [log_start, clean).
  std::map<int64_t, int64_t> last_batches(const Expectation& e) const {
    std::map<int64_t, int64_t> out;
    for (const auto& b : batches_) {
      if (b.producer_id >= 0 && b.base() >= e.log_start && b.base() < e.clean) out[b.producer_id] = b.base();
    }
    return out;
  }

  int tombstones_kept(const Expectation& e) const {
    const auto kept = kept_offsets(e);
    int n = 0;
    for (const auto& b : batches_) {
      for (const auto& r : b.records) n += !r.value && r.offset < e.clean && kept.count(r.offset) ? 1 : 0;
    }
    return n;
  }

 private:
  std::vector<ModelBatch> batches_;
};

std::string describe(const kb::Record& r) {
  return "offset " + std::to_string(r.offset) + " key '" + r.key.value_or("<null>").substr(0, 12) + "'";
}

// Checks every batch of the log against the model.
void expect_compacted(const keel::PartitionLog& log, const Model& model, const Expectation& e) {
  const std::vector<StoredBatch> stored = read_log(log);
  std::map<int64_t, const StoredBatch*> by_base;
  int64_t prev_last = -1;
  int64_t prev_record = -1;
  for (const auto& b : stored) {
    EXPECT_GT(b.header.base_offset, prev_last) << "batches must ascend";
    prev_last = b.header.last_offset();
    for (const auto& r : b.records) {
      EXPECT_GT(r.offset, prev_record) << "records must ascend";
      EXPECT_LE(r.offset, b.header.last_offset());
      prev_record = r.offset;
    }
    by_base[b.header.base_offset] = &b;
  }
  const auto kept = model.kept_offsets(e);
  const auto last_of_producer = model.last_batches(e);
  size_t matched = 0;
  for (const auto& mb : model.batches()) {
    const int64_t base = mb.base();
    auto it = by_base.find(base);
    const StoredBatch* sb = it == by_base.end() ? nullptr : it->second;
    std::vector<kb::Record> want;
    for (const auto& r : mb.records) {
      if (kept.count(r.offset)) want.push_back(r);
    }
    if (base < e.log_start) {
      EXPECT_EQ(sb, nullptr) << "batch " << base << " is below the log start " << e.log_start;
      continue;
    }
    const bool emptied = want.empty();
    const bool header_stays = mb.producer_id >= 0 && last_of_producer.count(mb.producer_id) &&
                              last_of_producer.at(mb.producer_id) == base;
    if (emptied && !header_stays) {
      EXPECT_EQ(sb, nullptr) << "emptied batch " << base << " (producer " << mb.producer_id
                             << ") is still there";
      continue;
    }
    if (sb == nullptr) {
      ADD_FAILURE() << "batch " << base << " is missing; it should keep " << want.size() << " record(s)"
                    << (want.empty() ? "" : ", first " + describe(want.front()));
      continue;
    }
    ++matched;
    const kb::Header& h = sb->header;
    // Whatever happened to its records, a batch keeps its identity.
    EXPECT_EQ(h.last_offset_delta, mb.last_offset_delta()) << "batch " << base;
    EXPECT_EQ(h.producer_id, mb.producer_id) << "batch " << base;
    EXPECT_EQ(h.producer_epoch, mb.producer_epoch) << "batch " << base;
    EXPECT_EQ(h.base_sequence, mb.base_sequence) << "batch " << base;
    EXPECT_EQ(sb->records, want) << "batch " << base;
    if (emptied) {
      EXPECT_EQ(sb->bytes.size(), kb::kHeaderSize) << "batch " << base;
      EXPECT_EQ(h.records_count, 0) << "batch " << base;
    } else if (want.size() == mb.records.size()) {
      // Untouched batches (all of the active segment among them) keep their bytes.
      EXPECT_EQ(sb->bytes, mb.bytes) << "batch " << base;
    } else {
      EXPECT_EQ(h.compression(), mb.codec) << "batch " << base;
      EXPECT_EQ(h.records_count, static_cast<int32_t>(want.size())) << "batch " << base;
    }
  }
  EXPECT_EQ(matched, stored.size()) << "the log holds batches the model does not know";
}

struct TopicSetup {
  std::string compaction;  // body of the plugin's settings table
  std::vector<std::string> retention = {"compaction"};
  std::string size;  // settings of `size`, when listed
  int64_t segment_bytes = 4096;
};

class CompactionTest : public ::testing::Test {
 protected:
  std::unique_ptr<keel::Topic> open_topic(const TopicSetup& setup, bool clean = true) {
    keel::TopicConfig cfg;
    cfg.name = "compacted";
    cfg.partitions = 1;
    cfg.segment_bytes = setup.segment_bytes;
    // A roll at the first append after the clock jumps by hours, so that
    // old and new records never share a segment.
    cfg.segment_ms = kHour;
    cfg.retention = setup.retention;
    add_settings(cfg, "compaction", setup.compaction);
    if (!setup.size.empty()) add_settings(cfg, "size", setup.size);
    auto topic = std::make_unique<keel::Topic>(cfg, registry_, dir_.path().string(), &clock_);
    topic->open(clean, [](int32_t) { return int64_t{0}; });
    return topic;
  }

  void add_settings(keel::TopicConfig& cfg, const std::string& strategy, const std::string& body) {
    docs_.push_back(std::make_shared<toml::table>(toml::parse(body, std::string_view(strategy + ".toml"))));
    cfg.plugin_settings[strategy].tables = {docs_.back().get()};
    cfg.plugin_settings[strategy].table_names = {"[topics.compacted.plugins." + strategy + "]"};
  }

  std::string part_dir() const { return keel::Topic::partition_dir(dir_.path().string(), "compacted", 0); }
  std::string clean_points() const { return read_text(part_dir() + "/cleaner-offsets"); }

  // Appends one batch, recording it in the model.
  int64_t append(keel::PartitionLog& log, Model& model, std::vector<kb::Record> records,
                 kb::Compression codec = kb::Compression::None, int64_t producer_id = -1, int16_t epoch = -1,
                 int32_t sequence = -1) {
    ModelBatch mb;
    mb.bytes = keel::codec::build_batch(records, codec, 0, producer_id, epoch, sequence);
    const int64_t base = log.append(bytes(mb.bytes), mb.bytes.size()).base_offset;
    kb::set_base_offset(reinterpret_cast<uint8_t*>(mb.bytes.data()), base);
    // The log stamps its leader epoch (0 by default) as it appends.
    kb::set_partition_leader_epoch(reinterpret_cast<uint8_t*>(mb.bytes.data()), 0);
    for (size_t i = 0; i < records.size(); ++i) records[i].offset = base + static_cast<int64_t>(i);
    mb.codec = codec;
    mb.producer_id = producer_id;
    mb.producer_epoch = epoch;
    mb.base_sequence = sequence;
    mb.records = std::move(records);
    model.add(std::move(mb));
    clock_.advance(1);
    return base;
  }

  // Runs retention until a round changes nothing; returns how many rounds
  // moved the clean point (one cleaning pass each).
  int compact_fully(keel::Topic& topic) {
    int passes = 0;
    for (int round = 0; round < 50; ++round) {
      const std::string before = clean_points();
      const auto infos_before = summary(*topic.partition(0));
      topic.apply_retention(clock_.now_ms());
      if (clean_points() == before && summary(*topic.partition(0)) == infos_before) return passes;
      passes += clean_points() != before ? 1 : 0;
    }
    ADD_FAILURE() << "compaction did not settle within 50 rounds";
    return passes;
  }

  static std::vector<std::array<int64_t, 3>> summary(const keel::PartitionLog& log) {
    std::vector<std::array<int64_t, 3>> out;
    for (const auto& s : log.segment_infos()) out.push_back({s.base_offset, s.next_offset, s.size_bytes});
    return out;
  }

  static int64_t active_base(const keel::PartitionLog& log) { return log.segment_infos().back().base_offset; }

  keel::test::TempDir dir_{"keel-compaction"};
  keel::ManualClock clock_{kStart};
  keel::PluginRegistry registry_{{KEEL_TEST_PLUGIN_DIR}, &clock_};
  std::vector<std::shared_ptr<toml::table>> docs_;
  LogCapture logs_;
};

// ------------------------------------------------------- random workload

struct Workload {
  uint32_t seed;
  int records;
  int keys;
  size_t key_size;  // keys are padded to this length
  int64_t buffer_bytes;
  bool multi_pass;  // the key map cannot hold the dirty keys at once
};

void PrintTo(const Workload& w, std::ostream* os) {
  *os << "seed " << w.seed << ", " << w.records << " records, " << w.keys << " keys of >= " << w.key_size
      << " bytes, buffer_bytes " << w.buffer_bytes;
}

class Generator {
 public:
  explicit Generator(const Workload& w) : w_(w), rng_(w.seed) {}

  std::string key() {
    std::string k = "key-" + std::to_string(pick(w_.keys));
    k.resize(std::max(k.size(), w_.key_size), '.');
    return k;
  }

  std::vector<kb::Record> records(int64_t now) {
    std::vector<kb::Record> out(1 + pick(5));
    for (size_t i = 0; i < out.size(); ++i) {
      auto& r = out[i];
      r.timestamp = now + static_cast<int64_t>(i);
      r.key = key();
      if (pick(10) != 0) r.value = "v" + std::to_string(serial_++) + "-" + std::string(pick(30), 'x');
      if (pick(4) == 0) r.headers.push_back({"h", pick(2) ? std::optional<std::string>("hv") : std::nullopt});
    }
    return out;
  }

  kb::Compression codec() { return static_cast<kb::Compression>(pick(5)); }

  // Producer 1..3 for about a third of the batches, else -1.
  int64_t producer() { return pick(3) == 0 ? 1 + pick(3) : -1; }

  int pick(int n) { return static_cast<int>(rng_() % static_cast<uint32_t>(n)); }

 private:
  Workload w_;
  std::mt19937 rng_;
  int serial_ = 0;
};

class CompactionModelTest : public CompactionTest, public ::testing::WithParamInterface<Workload> {
 protected:
  // Appends `records` records in random batches, cleaning now and then as
  // the broker's maintenance thread would.
  void produce(keel::Topic& topic, Model& model, Generator& gen, int records) {
    auto& log = *topic.partition(0);
    for (int n = 0; n < records;) {
      auto rs = gen.records(clock_.now_ms());
      n += static_cast<int>(rs.size());
      const int64_t producer = gen.producer();
      const kb::Compression codec = gen.codec();
      if (producer < 0) {
        append(log, model, std::move(rs), codec);
      } else {
        const auto count = static_cast<int32_t>(rs.size());
        append(log, model, std::move(rs), codec, producer, 0, sequence_[producer]);
        sequence_[producer] += count;
      }
      if (gen.pick(150) == 0) topic.apply_retention(clock_.now_ms());
    }
  }

  std::map<int64_t, int32_t> sequence_;
};

TEST_P(CompactionModelTest, KeepsTheNewestRecordOfEveryKeyAtItsOffset) {
  const Workload w = GetParam();
  TopicSetup setup;
  setup.compaction = "min_cleanable_dirty_ratio = 0.0\ndelete_retention_ms = " + std::to_string(kHour) +
                     "\nbuffer_bytes = " + std::to_string(w.buffer_bytes);
  auto topic = open_topic(setup);
  auto log = topic->partition(0);
  Model model;
  Generator gen(w);

  produce(*topic, model, gen, w.records);
  const int passes = compact_fully(*topic);
  Expectation e{0, active_base(*log), 0};
  ASSERT_GT(log->segment_count(), 2u);
  EXPECT_EQ(clean_points(), "compaction " + std::to_string(e.clean) + "\n");
  expect_compacted(*log, model, e);
  EXPECT_EQ(log->log_start_offset(), 0);
  // Young tombstones stay, so that consumers see the deletes.
  EXPECT_GT(model.tombstones_kept(e), 0);
  if (w.multi_pass) {
    EXPECT_GE(passes, 2);
    EXPECT_GE(logs_.count("the key map was full"), 1);
  }

  // Once the tombstones are older than delete_retention_ms, the next clean
  // drops them, while it compacts the new records against the old.
  clock_.advance(2 * kHour);
  const int64_t second_start = log->log_end_offset();
  produce(*topic, model, gen, w.records / 10);
  compact_fully(*topic);
  Expectation later{0, active_base(*log), second_start};
  ASSERT_GT(later.clean, second_start) << "the second round of records must fill closed segments";
  EXPECT_EQ(clean_points(), "compaction " + std::to_string(later.clean) + "\n");
  expect_compacted(*log, model, later);
  EXPECT_EQ(log->log_end_offset(), model.batches().back().records.back().offset + 1);

  // The compacted log survives a restart (recovery reads every batch).
  topic->close();
  topic.reset();
  topic = open_topic(setup, false);
  expect_compacted(*topic->partition(0), model, later);
  EXPECT_THAT(logs_.errors(), ::testing::IsEmpty());
}

INSTANTIATE_TEST_SUITE_P(Seeds, CompactionModelTest,
                         ::testing::Values(Workload{1, 2000, 40, 0, 64 << 20, false},
                                           Workload{2, 2000, 300, 0, 64 << 20, false},
                                           // ~250 keys of 200 bytes fit in 64 KiB: several passes.
                                           Workload{3, 2000, 700, 200, 65536, true}),
                         [](const auto& info) { return "seed" + std::to_string(info.param.seed); });

// ------------------------------------------------------------- settings

std::vector<kb::Record> one(const std::string& key, std::optional<std::string> value, int64_t ts) {
  return {kb::Record{0, ts, key, std::move(value), {}}};
}

TEST_F(CompactionTest, BelowTheDirtyRatioNothingIsRewritten) {
  TopicSetup setup;
  setup.compaction = "min_cleanable_dirty_ratio = 0.9";
  auto topic = open_topic(setup);
  auto& log = *topic->partition(0);
  Model model;
  // Distinct keys: the first clean keeps everything and marks it clean.
  for (int i = 0; i < 300; ++i) append(log, model, one("key-" + std::to_string(i), "first", clock_.now_ms()));
  compact_fully(*topic);
  const int64_t clean = active_base(log);
  ASSERT_EQ(clean_points(), "compaction " + std::to_string(clean) + "\n");

  // A few overwrites close one more segment: far below 90% dirty.
  for (int i = 0; i < 60; ++i) append(log, model, one("key-" + std::to_string(i), "second", clock_.now_ms()));
  ASSERT_GT(active_base(log), clean);
  const auto before = summary(log);
  topic->apply_retention(clock_.now_ms());
  EXPECT_EQ(summary(log), before);
  EXPECT_EQ(clean_points(), "compaction " + std::to_string(clean) + "\n");
  expect_compacted(log, model, Expectation{0, clean, 0});

  // Enough dirty data makes it due.
  for (int i = 0; i < 3000; ++i)
    append(log, model, one("key-" + std::to_string(i % 300), "third", clock_.now_ms()));
  compact_fully(*topic);
  expect_compacted(log, model, Expectation{0, active_base(log), 0});
  EXPECT_NE(summary(log), before);
}

TEST_F(CompactionTest, TombstonesGoOnceExpiredEvenWithNothingNewToClean) {
  TopicSetup setup;
  setup.compaction = "min_cleanable_dirty_ratio = 0.0\ndelete_retention_ms = " + std::to_string(kHour);
  auto topic = open_topic(setup);
  auto& log = *topic->partition(0);
  Model model;
  for (int i = 0; i < 60; ++i) append(log, model, one("key-" + std::to_string(i), "v", clock_.now_ms()));
  for (int i = 0; i < 30; ++i)
    append(log, model, one("key-" + std::to_string(i), std::nullopt, clock_.now_ms()));
  for (int i = 0; i < 100; ++i) append(log, model, one("pad-" + std::to_string(i), "x", clock_.now_ms()));
  compact_fully(*topic);
  const int64_t clean = active_base(log);
  ASSERT_GT(clean, 90) << "the tombstones must be in closed segments";
  expect_compacted(log, model, Expectation{0, clean, 0});
  EXPECT_EQ(model.tombstones_kept(Expectation{0, clean, 0}), 30);

  // Not yet: the newest of them is younger than an hour.
  clock_.set(kStart + kHour - 1000);
  const auto before = summary(log);
  topic->apply_retention(clock_.now_ms());
  EXPECT_EQ(summary(log), before);

  // Now they go, though nothing was appended since.
  clock_.set(kStart + kHour + 1000);
  compact_fully(*topic);
  expect_compacted(log, model, Expectation{0, clean, clean});
  EXPECT_EQ(model.tombstones_kept(Expectation{0, clean, clean}), 0);
  EXPECT_EQ(clean_points(), "compaction " + std::to_string(clean) + "\n");
}

TEST_F(CompactionTest, WithoutALagRecordsStampedAheadOfTheBrokerAreCompacted) {
  TopicSetup setup;
  setup.compaction = "min_cleanable_dirty_ratio = 0.0";
  auto topic = open_topic(setup);
  auto& log = *topic->partition(0);
  Model model;
  // A producer whose clock runs a day ahead.
  for (int i = 0; i < 300; ++i) {
    append(log, model,
           one("key-" + std::to_string(i % 20), "v" + std::to_string(i), clock_.now_ms() + 24 * kHour));
  }
  compact_fully(*topic);
  ASSERT_GT(active_base(log), 100);
  EXPECT_EQ(clean_points(), "compaction " + std::to_string(active_base(log)) + "\n");
  expect_compacted(log, model, Expectation{0, active_base(log), 0});
}

TEST_F(CompactionTest, SegmentsYoungerThanTheLagAreNotCompacted) {
  TopicSetup setup;
  setup.compaction = "min_cleanable_dirty_ratio = 0.0\nmin_compaction_lag_ms = " + std::to_string(kHour);
  auto topic = open_topic(setup);
  auto& log = *topic->partition(0);
  Model model;
  // Each key once in the old part, then twice in the young part: the old
  // part stays non-empty after its clean.
  for (int i = 0; i < 100; ++i) append(log, model, one("key-" + std::to_string(i), "old", clock_.now_ms()));
  for (int i = 0; i < 100; ++i) append(log, model, one("key-" + std::to_string(i), "old2", clock_.now_ms()));
  clock_.advance(2 * kHour);
  const int64_t young = log.log_end_offset();
  for (int i = 0; i < 200; ++i) {
    append(log, model, one("key-" + std::to_string(i % 100), "young", clock_.now_ms()));
  }
  ASSERT_GT(active_base(log), young + 50) << "the young records must fill closed segments";
  const auto young_segments = [&] {
    auto all = summary(log);
    std::vector<std::array<int64_t, 3>> out;
    for (const auto& s : all)
      if (s[0] >= young) out.push_back(s);
    return out;
  };
  const auto young_before = young_segments();

  compact_fully(*topic);
  // Only the old part was cleaned: among itself, not against the young keys.
  EXPECT_EQ(clean_points(), "compaction " + std::to_string(young) + "\n");
  EXPECT_EQ(young_segments(), young_before);
  expect_compacted(log, model, Expectation{0, young, 0});

  clock_.advance(2 * kHour);
  compact_fully(*topic);
  expect_compacted(log, model, Expectation{0, active_base(log), 0});
}

TEST_F(CompactionTest, CombinedWithSizeDeletesOldSegmentsAndCompactsTheRest) {
  TopicSetup setup;
  setup.compaction = "min_cleanable_dirty_ratio = 0.0";
  setup.retention = {"compaction", "size"};
  setup.size = "retention_bytes = 20000";
  auto topic = open_topic(setup);
  auto& log = *topic->partition(0);
  Model model;
  Workload w{7, 0, 500, 0, 0, false};
  Generator gen(w);
  for (int n = 0; n < 3000; ++n) {
    append(log, model, one(gen.key(), "v" + std::to_string(n), clock_.now_ms()), gen.codec());
    if (n % 400 == 399) topic->apply_retention(clock_.now_ms());
  }
  compact_fully(*topic);
  Expectation e{log.log_start_offset(), active_base(log), 0};
  EXPECT_GT(e.log_start, 0) << "size retention deleted no segment";
  EXPECT_EQ(log.segment_infos().front().base_offset, e.log_start);
  expect_compacted(log, model, e);
}

TEST_F(CompactionTest, ACompactedTopicRefusesNullKeys) {
  auto topic = open_topic(TopicSetup{});
  auto& log = *topic->partition(0);
  const std::string batch = keel::codec::build_batch(
      {kb::Record{0, kStart, "k", "v", {}}, kb::Record{0, kStart, std::nullopt, "v", {}}},
      kb::Compression::Lz4);
  try {
    log.append(bytes(batch), batch.size());
    ADD_FAILURE() << "a null key was accepted";
  } catch (const keel::Error& e) {
    EXPECT_EQ(e.code(), KEEL_ERR_INVALID_ARGUMENT);
    EXPECT_THAT(e.what(), HasSubstr("rejected batch #0, record #1 for compacted-0"));
    EXPECT_THAT(e.what(), HasSubstr("null key and the topic is compacted: give every record a key"));
  }
  EXPECT_EQ(log.log_end_offset(), 0);
  EXPECT_EQ(log.size_bytes(), 0);
}

struct BadSetting {
  const char* toml;
  const char* key;
};

class CompactionSettingsTest : public CompactionTest, public ::testing::WithParamInterface<BadSetting> {};

TEST_P(CompactionSettingsTest, TopicCreationFailsNamingTheKey) {
  TopicSetup setup;
  setup.compaction = GetParam().toml;
  try {
    open_topic(setup);
    ADD_FAILURE() << "the topic accepted " << GetParam().toml;
  } catch (const keel::Error& e) {
    EXPECT_EQ(e.code(), KEEL_ERR_INVALID_ARGUMENT);
    EXPECT_THAT(e.what(), HasSubstr("topic 'compacted': retention 'compaction' refused its settings"));
    EXPECT_THAT(e.what(), HasSubstr(std::string(GetParam().key) + " must be"));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Keys, CompactionSettingsTest,
    ::testing::Values(BadSetting{"min_cleanable_dirty_ratio = 1.5", "min_cleanable_dirty_ratio"},
                      BadSetting{"min_cleanable_dirty_ratio = -0.1", "min_cleanable_dirty_ratio"},
                      BadSetting{"buffer_bytes = 10", "buffer_bytes"},
                      BadSetting{"io_max_bytes_per_second = 0", "io_max_bytes_per_second"},
                      BadSetting{"io_max_bytes_per_second = -2", "io_max_bytes_per_second"},
                      BadSetting{"min_compaction_lag_ms = -1", "min_compaction_lag_ms"},
                      BadSetting{"delete_retention_ms = -1", "delete_retention_ms"}),
    [](const auto& info) { return std::to_string(info.index) + "_" + info.param.key; });

TEST_F(CompactionTest, AMisspelledKeyIsReported) {
  TopicSetup setup;
  setup.compaction = "min_cleanable_ratio = 0.1";
  auto topic = open_topic(setup);
  EXPECT_THAT(topic->config_problems(), ::testing::Contains(HasSubstr("unknown key 'min_cleanable_ratio'")));
}

// ------------------------------------------------------ producer batches

TEST_F(CompactionTest, AnEmptiedBatchStaysAsAHeaderOnlyIfItIsItsProducersLast) {
  TopicSetup setup;
  setup.compaction = "min_cleanable_dirty_ratio = 0.0";
  setup.segment_bytes = 600;
  auto topic = open_topic(setup);
  auto& log = *topic->partition(0);
  Model model;
  const auto recs = [&](std::vector<std::string> keys) {
    std::vector<kb::Record> out;
    for (const auto& k : keys) out.push_back(kb::Record{0, clock_.now_ms(), k, "old-" + k, {}});
    return out;
  };
  const int64_t b0 = append(log, model, recs({"a1", "a2"}), kb::Compression::Gzip, 7, 2, 0);  // P7, not last
  const int64_t b1 = append(log, model, recs({"b1", "b2"}), kb::Compression::Snappy);         // no producer
  const int64_t b2 =
      append(log, model, recs({"c1", "c2", "c3"}), kb::Compression::Zstd, 7, 2, 2);  // P7's last
  // P9 is new to the partition: its first batch starts at sequence 0.
  const int64_t b3 = append(log, model, recs({"d1", "d2", "d3"}), kb::Compression::Lz4, 9, 0, 0);
  const int64_t b4 = append(log, model, recs({"e1"}), kb::Compression::None, 8, 1, 0);
  // Overwrite every key of b0..b2, and the first and last of b3.
  for (const char* k : {"a1", "a2", "b1", "b2", "c1", "c2", "c3", "d1", "d3"}) {
    append(log, model, one(k, "new", clock_.now_ms()));
  }
  for (int i = 0; i < 30; ++i) append(log, model, one("pad-" + std::to_string(i), "x", clock_.now_ms()));
  ASSERT_GT(active_base(log), b4 + 10);

  compact_fully(*topic);
  const Expectation e{0, active_base(log), 0};
  expect_compacted(log, model, e);

  std::map<int64_t, StoredBatch> stored;
  for (auto& b : read_log(log)) stored[b.header.base_offset] = b;
  EXPECT_FALSE(stored.count(b0));
  EXPECT_FALSE(stored.count(b1));
  ASSERT_TRUE(stored.count(b2));
  const kb::Header& h2 = stored[b2].header;
  EXPECT_EQ(stored[b2].bytes.size(), 61u);
  EXPECT_EQ(h2.records_count, 0);
  EXPECT_EQ(h2.last_offset_delta, 2);
  EXPECT_EQ(h2.last_offset(), b2 + 2);
  EXPECT_EQ(h2.producer_id, 7);
  EXPECT_EQ(h2.producer_epoch, 2);
  EXPECT_EQ(h2.base_sequence, 2);
  // b3 lost its first and last record: the survivor keeps its offset, the
  // batch its codec and lastOffsetDelta (so the producer's last sequence,
  // 0 + 2, still reads from it).
  ASSERT_TRUE(stored.count(b3));
  const kb::Header& h3 = stored[b3].header;
  EXPECT_EQ(h3.compression(), kb::Compression::Lz4);
  EXPECT_EQ(h3.last_offset_delta, 2);
  EXPECT_EQ(h3.base_sequence, 0);
  ASSERT_EQ(stored[b3].records.size(), 1u);
  EXPECT_EQ(stored[b3].records[0].offset, b3 + 1);
  EXPECT_EQ(stored[b3].records[0].key, "d2");
  ASSERT_TRUE(stored.count(b4));

  // A read from inside the removed range lands on the next batch there is.
  keel::ReadResult r = log.read(b0 + 1, 1 << 20);
  ASSERT_TRUE(r.segment);
  const std::string data = pread_all(r.segment->fd(), r.position, r.length);
  EXPECT_EQ(kb::parse_header(bytes(data), data.size())->base_offset, b2);

  // The header-only batch survives recovery.
  topic.reset();
  topic = open_topic(setup, false);
  expect_compacted(*topic->partition(0), model, e);
}

}  // namespace

// ---- shutdown and I/O rate

TEST_F(CompactionTest, AShutdownStopsAPassAndLeavesTheOldSegments) {
  TopicSetup setup;
  // Slow enough that the pass is still writing its replacement when the
  // broker stops.
  setup.compaction = "min_cleanable_dirty_ratio = 0.0\nio_max_bytes_per_second = 20000";
  auto topic = open_topic(setup);
  auto& log = *topic->partition(0);
  Model model;
  for (int i = 0; i < 600; ++i)
    append(log, model, one("key-" + std::to_string(i % 20), "v", clock_.now_ms()));
  const auto before = summary(log);
  const auto replacement_exists = [&] {
    for (const auto& e : std::filesystem::directory_iterator(part_dir())) {
      if (e.path().filename().string().find(".cleaned") != std::string::npos) return true;
    }
    return false;
  };
  std::atomic<bool> stopping{false};
  std::thread pass([&] { topic->apply_retention(clock_.now_ms(), &stopping); });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!replacement_exists() && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  ASSERT_TRUE(replacement_exists()) << "the pass never began writing";
  stopping = true;
  pass.join();
  EXPECT_EQ(logs_.count("stopped for shutdown"), 1);
  EXPECT_EQ(summary(log), before);
  EXPECT_TRUE(clean_points().empty());
  for (const auto& e : std::filesystem::directory_iterator(part_dir())) {
    const std::string name = e.path().filename().string();
    EXPECT_EQ(name.find(".cleaned"), std::string::npos) << name;
    EXPECT_EQ(name.find(".swap"), std::string::npos) << name;
  }
  expect_compacted(log, model, Expectation{0, 0, 0});
}

TEST(CompactionIoThrottle, WaitsUntilTheRateAllowsTheBytesAndGivesUpWhenStopping) {
  using Clock = keel::compaction::IoThrottle::Clock;
  Clock::time_point now{};
  std::vector<Clock::duration> sleeps;
  bool stopping = false;
  keel::compaction::IoThrottle::Time fake{[&] { return now; },
                                          [&](Clock::duration d) {
                                            sleeps.push_back(d);
                                            now += d;
                                          }};
  keel::compaction::IoThrottle throttle(
      1000, [&] { return stopping; }, fake);  // 1000 B/s
  EXPECT_TRUE(throttle.consume(500));         // due at 0.5 s
  Clock::duration slept{};
  for (auto d : sleeps) slept += d;
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::milliseconds>(slept).count(), 500);
  for (auto d : sleeps)
    EXPECT_LE(d, std::chrono::milliseconds(50)) << "sleeps are short, to notice a shutdown";
  sleeps.clear();
  now += std::chrono::seconds(2);  // time passed elsewhere: no wait for what it covers
  EXPECT_TRUE(throttle.consume(1500));
  EXPECT_TRUE(sleeps.empty());
  stopping = true;
  EXPECT_FALSE(throttle.consume(1000));
  EXPECT_LE(sleeps.size(), 1u);

  sleeps.clear();
  keel::compaction::IoThrottle unlimited(
      -1, [] { return false; }, fake);
  EXPECT_TRUE(unlimited.consume(int64_t{1} << 40));
  EXPECT_TRUE(sleeps.empty());
}
