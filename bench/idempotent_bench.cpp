// What idempotence costs an append (kernel only, no network): the same
// batches of 16 records appended without a producer id, and from idempotent
// producers with increasing sequences, whose batches the partition checks
// against and records in its producer state under the append lock.
#include <benchmark/benchmark.h>

#include <keel/record_batch.hpp>
#include <string>
#include <vector>

#include "log_fixture.hpp"
#include "producers/producer_state.hpp"

namespace {

constexpr int kRecordsPerBatch = 16;
// Batches made ready per pause of the timer: each needs its own sequence and
// CRC, and pausing per batch would cost more than the append measured.
constexpr int kChunk = 1024;

std::string make_batch(int value_size, int64_t producer_id) {
  keel::batch::Builder b;
  if (producer_id >= 0) b.producer(producer_id, 0, 0);
  const std::string value(static_cast<size_t>(value_size), 'v');
  for (int i = 0; i < kRecordsPerBatch; ++i)
    b.add(std::string("key-") + std::to_string(i), value, 1700000000000 + i);
  return b.build();
}

// Sets a batch's base sequence and the CRC that covers it.
void set_sequence(std::string& batch, int32_t seq) {
  namespace kb = keel::batch;
  auto* p = reinterpret_cast<uint8_t*>(batch.data());
  kb::detail::store_be<int32_t>(p + kb::kBaseSequencePos, seq);
  kb::detail::store_be<uint32_t>(p + kb::kCrcPos, kb::compute_crc(p, batch.size()));
}

// Appends batches of 16 records of range(0) bytes. `producers` 0: no
// producer id; N: N idempotent producers taking turns, each batch the next
// sequence of its producer. Both variants take batches from the same kind of
// prepared chunk, so they differ only in what the partition does with them.
void append_batches(benchmark::State& state, int producers) {
  const int value_size = static_cast<int>(state.range(0));
  std::vector<std::string> templates;
  for (int p = 0; p < std::max(producers, 1); ++p)
    templates.push_back(make_batch(value_size, producers ? p : -1));
  std::vector<int32_t> next_seq(templates.size(), 0);
  std::vector<std::string> chunk(kChunk);
  int64_t made = 0;
  const auto prepare = [&] {
    for (auto& batch : chunk) {
      const size_t p = static_cast<size_t>(made++ % static_cast<int64_t>(templates.size()));
      batch = templates[p];
      if (producers) {
        set_sequence(batch, next_seq[p]);
        next_seq[p] += kRecordsPerBatch;
      }
    }
  };
  keel::bench::LogFixture f;
  const auto append = [&](const std::string& batch) {
    const keel::AppendResult r = f.log->append(reinterpret_cast<const uint8_t*>(batch.data()), batch.size());
    if (r.idempotence != keel::ProducerState::Verdict::kAppend) state.SkipWithError(r.refusal.c_str());
  };
  // Warm-up: first touch of fresh memory and page cache is much slower here.
  prepare();
  for (const auto& batch : chunk) append(batch);
  prepare();
  size_t i = 0;
  for (auto _ : state) {
    if (i == chunk.size()) {
      state.PauseTiming();
      prepare();
      i = 0;
      state.ResumeTiming();
    }
    append(chunk[i++]);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(templates[0].size()));
  state.SetItemsProcessed(state.iterations() * kRecordsPerBatch);
  state.counters["batches/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

void BM_AppendBatch16(benchmark::State& state) { append_batches(state, 0); }
BENCHMARK(BM_AppendBatch16)->ArgName("value")->Arg(100)->Arg(1024)->UseRealTime();

void BM_AppendIdempotent(benchmark::State& state) { append_batches(state, static_cast<int>(state.range(1))); }
BENCHMARK(BM_AppendIdempotent)
    ->ArgNames({"value", "producers"})
    ->Args({100, 1})
    ->Args({100, 8})
    ->Args({1024, 1})
    ->Args({1024, 8})
    ->UseRealTime();

// The part idempotence adds to an append, alone: checking one batch against
// a partition's producer state and recording it, with `producers` producers
// taking turns (the append benchmarks above include this and everything else).
void BM_ProducerStateCheckRecord(benchmark::State& state) {
  const int producers = static_cast<int>(state.range(0));
  keel::ProducerState ps;
  std::vector<int32_t> next_seq(static_cast<size_t>(producers), 0);
  int64_t n = 0;
  for (auto _ : state) {
    const auto p = static_cast<size_t>(n % producers);
    const keel::BatchIdentity id{static_cast<int64_t>(p), 0, next_seq[p], next_seq[p] + kRecordsPerBatch - 1,
                                 1700000000000 + n};
    const keel::ProducerState::Check c = ps.check(id);
    if (c.verdict != keel::ProducerState::Verdict::kAppend) state.SkipWithError(c.why.c_str());
    ps.record(id, n * kRecordsPerBatch, n * kRecordsPerBatch + kRecordsPerBatch - 1);
    next_seq[p] += kRecordsPerBatch;
    ++n;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ProducerStateCheckRecord)->ArgName("producers")->Arg(1)->Arg(8)->Arg(1000);

}  // namespace
