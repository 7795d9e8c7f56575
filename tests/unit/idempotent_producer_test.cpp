// Idempotent producer state in the kernel (kernel/producers/): the sequence
// checks as Kafka's ProducerStateManager makes them, snapshots, recovery
// after clean and unclean stops, expiry, and producer id blocks. The
// randomized test drives a real PartitionLog against a model of what Kafka
// promises: every batch acknowledged is in the log exactly once, a retry is
// answered with the original offsets, a gap or a fenced epoch is refused.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <keel/record_batch.hpp>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "producers/producer_ids.hpp"
#include "producers/producer_snapshot.hpp"
#include "producers/producer_state.hpp"
#include "storage/partition_log.hpp"
#include "support/temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
namespace batch = keel::batch;
using keel::AppendResult;
using keel::BatchIdentity;
using keel::LogOptions;
using keel::PartitionLog;
using keel::ProducerState;
using Verdict = keel::ProducerState::Verdict;

constexpr int64_t kDay = 24LL * 3600 * 1000;

std::string idempotent_batch(int64_t pid, int16_t epoch, int32_t seq, int records, int64_t ts) {
  batch::Builder b;
  for (int i = 0; i < records; ++i) b.add("k", "v" + std::to_string(seq + i), ts);
  b.producer(pid, epoch, seq);
  return b.build();
}

BatchIdentity identity(int64_t pid, int16_t epoch, int32_t first, int32_t last, int64_t ts = 0) {
  return BatchIdentity{pid, epoch, first, last, ts};
}

// ------------------------------------------------------------ the checks

TEST(ProducerStateTest, NewProducerMustStartAtSequenceZero) {
  ProducerState s;
  EXPECT_EQ(s.check(identity(7, 0, 0, 2)).verdict, Verdict::kAppend);
  auto c = s.check(identity(7, 0, 5, 6));
  EXPECT_EQ(c.verdict, Verdict::kUnknownProducer);
  EXPECT_NE(c.why.find("sequence 5"), std::string::npos) << c.why;
}

TEST(ProducerStateTest, RetryOfAnyOfTheLastFiveBatchesIsADuplicateWithItsOffsets) {
  ProducerState s;
  for (int i = 0; i < 7; ++i) s.record(identity(7, 0, i * 2, i * 2 + 1), 100 + i * 10, 101 + i * 10);
  for (int i = 2; i < 7; ++i) {
    auto c = s.check(identity(7, 0, i * 2, i * 2 + 1));
    ASSERT_EQ(c.verdict, Verdict::kDuplicate) << i;
    EXPECT_EQ(c.original.first_offset, 100 + i * 10);
    EXPECT_EQ(c.original.last_offset, 101 + i * 10);
  }
  // Older than the five remembered: Kafka answers OUT_OF_ORDER_SEQUENCE.
  EXPECT_EQ(s.check(identity(7, 0, 2, 3)).verdict, Verdict::kOutOfOrder);
  EXPECT_EQ(s.check(identity(7, 0, 14, 14)).verdict, Verdict::kAppend);
}

TEST(ProducerStateTest, GapIsOutOfOrderAndNamesTheExpectedSequence) {
  ProducerState s;
  s.record(identity(7, 0, 0, 4), 0, 4);
  auto c = s.check(identity(7, 0, 6, 6));
  EXPECT_EQ(c.verdict, Verdict::kOutOfOrder);
  EXPECT_NE(c.why.find("expected sequence 5"), std::string::npos) << c.why;
}

TEST(ProducerStateTest, OlderEpochIsFencedNewerMustStartAtZero) {
  ProducerState s;
  s.record(identity(7, 3, 0, 0), 0, 0);
  EXPECT_EQ(s.check(identity(7, 2, 1, 1)).verdict, Verdict::kFenced);
  EXPECT_EQ(s.check(identity(7, 4, 1, 1)).verdict, Verdict::kOutOfOrder);
  EXPECT_EQ(s.check(identity(7, 4, 0, 0)).verdict, Verdict::kAppend);
  s.record(identity(7, 4, 0, 0), 1, 1);
  EXPECT_EQ(s.check(identity(7, 3, 1, 1)).verdict, Verdict::kFenced);
}

TEST(ProducerStateTest, SequencesWrapAtInt32Max) {
  ProducerState s;
  s.record(identity(7, 0, 0, 0), 0, 0);
  s.restore({{7, ProducerState::Producer{0, 0, {{INT32_MAX - 1, INT32_MAX, 10, 11}}}}});
  EXPECT_EQ(s.check(identity(7, 0, 0, 1)).verdict, Verdict::kAppend);
  EXPECT_EQ(keel::add_sequence(INT32_MAX, 1), 0);
}

TEST(ProducerStateTest, ExpiryForgetsSilentProducersByTheirNewestTimestamp) {
  ProducerState s;
  s.record(identity(1, 0, 0, 0, /*ts=*/1000), 0, 0);
  s.record(identity(2, 0, 0, 0, /*ts=*/5000), 1, 1);
  EXPECT_EQ(s.expire(1000 + kDay, kDay), 1u);
  EXPECT_EQ(s.producers().count(1), 0u);
  EXPECT_EQ(s.check(identity(1, 0, 1, 1)).verdict, Verdict::kUnknownProducer);
  EXPECT_EQ(s.check(identity(2, 0, 1, 1)).verdict, Verdict::kAppend);
}

// --------------------------------------------------------------- snapshots

TEST(ProducerSnapshotTest, RoundTripsAndRefusesDamage) {
  ProducerState::Producers p;
  p[42] = ProducerState::Producer{3, 1234, {{0, 4, 10, 14}, {5, 5, 20, 20}}};
  p[43] = ProducerState::Producer{0, -1, {}};
  const std::string bytes = keel::encode_producer_snapshot(99, p);
  std::string why;
  auto back = keel::decode_producer_snapshot(bytes, 99, &why);
  ASSERT_TRUE(back) << why;
  ASSERT_EQ(back->size(), 2u);
  EXPECT_EQ((*back)[42].epoch, 3);
  EXPECT_EQ((*back)[42].last_timestamp, 1234);
  ASSERT_EQ((*back)[42].batches.size(), 2u);
  EXPECT_EQ((*back)[42].batches[1].first_offset, 20);
  EXPECT_FALSE(keel::decode_producer_snapshot(bytes, 98, &why)) << "offset mismatch must be refused";
  for (size_t i = 0; i < bytes.size(); i += 7) {
    std::string bad = bytes;
    bad[i] = static_cast<char>(bad[i] ^ 0x10);
    EXPECT_FALSE(keel::decode_producer_snapshot(bad, 99, &why)) << "flip at byte " << i;
  }
  EXPECT_FALSE(keel::decode_producer_snapshot(bytes.substr(0, bytes.size() - 3), 99, &why));
  EXPECT_NE(why.find("CRC"), std::string::npos) << why;
}

// ----------------------------------------------------------- producer ids

TEST(ProducerIdsTest, NeverRepeatsAnIdAcrossRestartsAndCrashes) {
  keel::test::TempDir dir;
  const std::string path = (dir.path() / "producer-ids").string();
  std::set<int64_t> seen;
  int64_t last = -1;
  // The clock steps back by an hour at each start: ids must not care.
  keel::ManualClock clock(1'700'000'000'000);
  for (int run = 0; run < 4; ++run) {
    clock.advance(-3'600'000);
    keel::ProducerIds ids(path, 0, clock);
    // A "crash" is a run that ends mid-block without any shutdown step.
    const int n = run % 2 == 0 ? 5 : static_cast<int>(keel::ProducerIds::kBlockSize) + 3;
    for (int i = 0; i < n; ++i) {
      const int64_t id = ids.allocate();
      EXPECT_TRUE(seen.insert(id).second) << "id " << id << " handed out twice";
      EXPECT_GT(id, last);
      last = id;
    }
  }
}

TEST(ProducerIdsTest, StartsAboveIdsFoundInTheLogsAndRefusesADamagedFile) {
  keel::test::TempDir dir;
  const std::string path = (dir.path() / "producer-ids").string();
  const int64_t floor = int64_t{1} << 60;  // above the legacy ms*256 scheme
  const keel::ManualClock clock(1'700'000'000'000);
  EXPECT_EQ(keel::ProducerIds(path, floor, clock).allocate(), floor);
  std::ofstream(path) << "garbage\n";
  try {
    keel::ProducerIds ids(path, 0, clock);
    FAIL() << "a damaged producer id file must be refused";
  } catch (const keel::Error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

TEST(ProducerIdsTest, AFreshDirectoryStartsAboveTheLegacyTimeBasedIds) {
  keel::test::TempDir dir;
  const keel::ManualClock clock(1'700'000'000'000);
  // Before 2.1 a producer id was the Kafka transport's start time in ms
  // times 256: a directory without the file may have clients holding such ids.
  EXPECT_EQ(keel::ProducerIds((dir.path() / "producer-ids").string(), 5, clock).allocate(),
            (1'700'000'000'000 + 1) * 256);
}

// ------------------------------------------------- the log, against a model

class IdempotentLogTest : public ::testing::Test {
 protected:
  void SetUp() override { clock_.set(1'000'000); }

  LogOptions options() const {
    LogOptions o;
    o.segment_bytes = 4096;  // rolls often: snapshots at every roll
    return o;
  }
  std::shared_ptr<PartitionLog> open(bool clean, int64_t recovery_point) {
    auto log = std::make_shared<PartitionLog>("t", 0, dir_.str() + "/t-0", options(), &clock_);
    log->open(clean, recovery_point);
    return log;
  }
  AppendResult append(PartitionLog& log, const std::string& b) {
    return log.append(reinterpret_cast<const uint8_t*>(b.data()), b.size());
  }
  // Every batch in the log: base offset -> (producer, first sequence).
  std::map<int64_t, std::pair<int64_t, int32_t>> stored(PartitionLog& log) {
    std::map<int64_t, std::pair<int64_t, int32_t>> out;
    log.for_each_batch([&](const uint8_t* p, size_t n) {
      auto h = *batch::parse_header(p, n);
      EXPECT_TRUE(out.emplace(h.base_offset, std::make_pair(h.producer_id, h.base_sequence)).second);
      return true;
    });
    return out;
  }

  keel::test::TempDir dir_;
  keel::ManualClock clock_{1'000'000};
};

TEST_F(IdempotentLogTest, DuplicateIsAnsweredWithTheOriginalOffsetsAndNotStored) {
  auto log = open(true, 0);
  append(*log, idempotent_batch(-1, -1, -1, 2, clock_.now_ms()));
  const std::string b = idempotent_batch(5, 0, 0, 3, clock_.now_ms());
  auto first = append(*log, b);
  EXPECT_EQ(first.idempotence, Verdict::kAppend);
  EXPECT_EQ(first.base_offset, 2);
  auto again = append(*log, b);
  EXPECT_EQ(again.idempotence, Verdict::kDuplicate);
  EXPECT_EQ(again.base_offset, 2);
  EXPECT_EQ(again.last_offset, 4);
  EXPECT_EQ(log->log_end_offset(), 5);
  auto gap = append(*log, idempotent_batch(5, 0, 7, 1, clock_.now_ms()));
  EXPECT_EQ(gap.idempotence, Verdict::kOutOfOrder);
  EXPECT_NE(gap.refusal.find("t-0: producer 5 epoch 0"), std::string::npos) << gap.refusal;
  EXPECT_EQ(log->log_end_offset(), 5);
}

TEST_F(IdempotentLogTest, AnIdempotentRequestCarriesExactlyOneBatch) {
  auto log = open(true, 0);
  const std::string two =
      idempotent_batch(5, 0, 0, 1, clock_.now_ms()) + idempotent_batch(5, 0, 1, 1, clock_.now_ms());
  try {
    append(*log, two);
    FAIL() << "two idempotent batches in one request must be refused";
  } catch (const keel::Error& e) {
    EXPECT_EQ(e.code(), KEEL_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(e.what()).find("exactly one record batch"), std::string::npos) << e.what();
  }
  EXPECT_EQ(log->log_end_offset(), 0);
}

TEST_F(IdempotentLogTest, StateSurvivesCleanRestartThroughTheSnapshotAlone) {
  {
    auto log = open(true, 0);
    for (int i = 0; i < 3; ++i) append(*log, idempotent_batch(9, 1, i, 1, clock_.now_ms()));
    log->close();
  }
  const int64_t end = 3;
  ASSERT_TRUE(fs::exists(keel::producer_snapshot_path(dir_.str() + "/t-0", end)));
  auto log = open(true, end);
  EXPECT_EQ(log->producer_count(), 1u);
  EXPECT_EQ(append(*log, idempotent_batch(9, 1, 2, 1, clock_.now_ms())).idempotence, Verdict::kDuplicate);
  EXPECT_EQ(append(*log, idempotent_batch(9, 0, 3, 1, clock_.now_ms())).idempotence, Verdict::kFenced);
  EXPECT_EQ(append(*log, idempotent_batch(9, 1, 3, 1, clock_.now_ms())).idempotence, Verdict::kAppend);
}

TEST_F(IdempotentLogTest, DamagedSnapshotFallsBackToTheLog) {
  {
    auto log = open(true, 0);
    for (int i = 0; i < 3; ++i) append(*log, idempotent_batch(9, 0, i, 1, clock_.now_ms()));
    log->close();
  }
  const std::string snap = keel::producer_snapshot_path(dir_.str() + "/t-0", 3);
  std::ofstream(snap, std::ios::binary | std::ios::trunc) << "KPRS garbage";
  auto log = open(true, 3);
  EXPECT_EQ(log->producer_count(), 1u);
  EXPECT_EQ(append(*log, idempotent_batch(9, 0, 1, 1, clock_.now_ms())).idempotence, Verdict::kDuplicate);
}

TEST_F(IdempotentLogTest, ExpiredProducerIsUnknownUntilItStartsOver) {
  auto log = open(true, 0);
  append(*log, idempotent_batch(9, 0, 0, 1, clock_.now_ms()));
  clock_.advance(kDay - 1);
  EXPECT_EQ(log->expire_producers(clock_.now_ms()), 0u);
  clock_.advance(1);
  EXPECT_EQ(log->expire_producers(clock_.now_ms()), 1u);
  EXPECT_EQ(append(*log, idempotent_batch(9, 0, 1, 1, clock_.now_ms())).idempotence,
            Verdict::kUnknownProducer);
}

// Random interleavings of new batches, retries of recent and old batches,
// gaps, epoch bumps, zombies of an old epoch, expiry, clean restarts and
// unclean ones (the log object is dropped without close, as a SIGKILL
// would leave it, and reopened from the recovery point of its last flush).
// At the end the log must hold each acknowledged batch exactly once.
TEST_F(IdempotentLogTest, RandomInterleavingsAgainstAModel) {
  struct Sent {
    int64_t offset;
    std::string bytes;
  };
  struct ModelProducer {
    int16_t epoch = 0;
    int32_t next_seq = 0;
    std::optional<int16_t> log_epoch;  // the epoch the log knows, if any
    std::vector<Sent> sent;            // this epoch's acknowledged batches
  };
  std::mt19937 rng(20261202);
  std::map<int64_t, ModelProducer> model;
  std::map<int64_t, std::pair<int64_t, int32_t>> acknowledged;  // offset -> (pid, seq)
  auto log = open(true, 0);
  std::map<std::string, int> seen;
  for (int step = 0; step < 2000; ++step) {
    const int64_t pid = 100 + static_cast<int64_t>(rng() % 4);
    ModelProducer& p = model[pid];
    const int op = static_cast<int>(rng() % 100);
    const int64_t ts = clock_.now_ms();
    if (op < 50) {  // the next batch
      const int n = 1 + static_cast<int>(rng() % 3);
      const std::string b = idempotent_batch(pid, p.epoch, p.next_seq, n, ts);
      auto r = append(*log, b);
      if (!p.log_epoch && p.next_seq != 0) {
        // Expired: the client is told, and starts its sequence over.
        ASSERT_EQ(r.idempotence, Verdict::kUnknownProducer) << "step " << step;
        p.next_seq = 0;
        ++seen["unknown"];
        continue;
      }
      ASSERT_EQ(r.idempotence, Verdict::kAppend) << "step " << step << ": " << r.refusal;
      acknowledged[r.base_offset] = {pid, p.next_seq};
      p.sent.push_back({r.base_offset, b});
      p.next_seq += n;
      p.log_epoch = p.epoch;
      ++seen["appended"];
    } else if (op < 72 && !p.sent.empty() && p.log_epoch == p.epoch) {  // a retry
      const size_t back = rng() % std::min<size_t>(p.sent.size(), 8);
      const Sent& s = p.sent[p.sent.size() - 1 - back];
      auto r = append(*log, s.bytes);
      if (back < ProducerState::kBatchesPerProducer) {
        ASSERT_EQ(r.idempotence, Verdict::kDuplicate) << "step " << step;
        EXPECT_EQ(r.base_offset, s.offset);
        ++seen["duplicate"];
      } else {
        // Too old to be remembered: Kafka answers OUT_OF_ORDER_SEQUENCE.
        ASSERT_EQ(r.idempotence, Verdict::kOutOfOrder) << "step " << step;
        ++seen["old retry"];
      }
    } else if (op < 80) {  // a gap
      const int32_t seq = p.next_seq + 1 + static_cast<int32_t>(rng() % 5);
      auto r = append(*log, idempotent_batch(pid, p.epoch, seq, 1, ts));
      ASSERT_EQ(r.idempotence, p.log_epoch ? Verdict::kOutOfOrder : Verdict::kUnknownProducer)
          << "step " << step;
      ++seen["gap"];
    } else if (op < 85) {  // an epoch bump (the producer was re-initialised)
      p.epoch = static_cast<int16_t>(p.epoch + 1);
      p.next_seq = 0;
      p.sent.clear();
    } else if (op < 89 && p.log_epoch && *p.log_epoch > 0) {  // a zombie of an older epoch
      auto r = append(*log, idempotent_batch(pid, static_cast<int16_t>(*p.log_epoch - 1), 0, 1, ts));
      ASSERT_EQ(r.idempotence, Verdict::kFenced) << "step " << step;
      ++seen["fenced"];
    } else if (op < 91) {  // a day of silence: every producer expires
      clock_.advance(kDay);
      log->expire_producers(clock_.now_ms());
      for (auto& [id, m] : model) {
        m.log_epoch.reset();
        m.sent.clear();
      }
      ++seen["expiry"];
    } else if (op < 96) {  // a clean restart
      log->close();
      const int64_t end = log->log_end_offset();
      log.reset();
      log = open(true, end);
      ++seen["clean restart"];
    } else {  // a crash: no close, reopened from the last flush
      const int64_t flushed = rng() % 2 == 0 ? log->flush() : log->flushed_offset();
      log.reset();
      log = open(false, flushed);
      ++seen["crash"];
    }
    clock_.advance(1);
  }
  // Exactly once: the log holds each acknowledged batch, and nothing else.
  EXPECT_EQ(stored(*log), acknowledged);
  for (const char* what : {"appended", "duplicate", "old retry", "gap", "fenced", "unknown", "expiry",
                           "clean restart", "crash"}) {
    EXPECT_GT(seen[what], 3) << what << " happened too rarely to test anything";
  }
}

}  // namespace
