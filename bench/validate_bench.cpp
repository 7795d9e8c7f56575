// What produce-time validation costs: the content check of
// kernel/batch_validator alone, the whole check a produce pays (framing and
// CRC, then contents), and the append it is part of, on the same batch, for
// 100 B and 1 KiB records and each codec. Batches hold about 64 KiB of
// records before compression (as in BM_Append); values are JSON-like events
// that every codec shrinks, so decompression has real work to do.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <keel/codec.hpp>
#include <keel/record_batch.hpp>
#include <random>
#include <string>
#include <vector>

#include "log_fixture.hpp"
#include "storage/batch_validator.hpp"

namespace {

namespace kb = keel::batch;

struct TestBatch {
  std::string bytes;
  int64_t records = 0;
  int64_t plain_bytes = 0;  // the batch's size uncompressed
};

// Args: value size, codec id.
TestBatch make_batch(const benchmark::State& state) {
  const auto value_size = static_cast<size_t>(state.range(0));
  const auto codec = static_cast<kb::Compression>(state.range(1));
  const int count = std::max(1, 65536 / static_cast<int>(value_size));
  std::mt19937 rng(42);
  std::vector<kb::Record> rs;
  for (int i = 0; i < count; ++i) {
    std::string value;
    while (value.size() < value_size) {
      value += "{\"id\":" + std::to_string(rng() % 100000) + ",\"user\":\"user-" +
               std::to_string(rng() % 1000) + "\",\"event\":\"page_view\",\"path\":\"/items/" +
               std::to_string(rng() % 5000) + "\"}";
    }
    value.resize(value_size);
    rs.push_back({0, 1'700'000'000'000 + i, "key-" + std::to_string(i), std::move(value), {}});
  }
  TestBatch b;
  b.bytes = keel::codec::build_batch(rs, codec);
  b.records = count;
  b.plain_bytes = static_cast<int64_t>(keel::codec::build_batch(rs, kb::Compression::None).size());
  return b;
}

const uint8_t* u8(const std::string& s) { return reinterpret_cast<const uint8_t*>(s.data()); }

void report(benchmark::State& state, const TestBatch& b) {
  state.SetItemsProcessed(state.iterations() * b.records);
  // MB/s of records uncompressed, so that codecs compare on the same data.
  state.SetBytesProcessed(state.iterations() * b.plain_bytes);
  state.counters["wire_bytes"] = static_cast<double>(b.bytes.size());
}

// The new content check alone (records walked, compressed ones decompressed).
void BM_ValidateContents(benchmark::State& state) {
  const TestBatch b = make_batch(state);
  const kb::Header h = *kb::parse_header(u8(b.bytes), b.bytes.size());
  const keel::BatchRules rules;
  for (auto _ : state) {
    keel::BatchProblem p = keel::check_produced_batch(h, u8(b.bytes), rules);
    if (!p.ok()) state.SkipWithError(p.what.c_str());
    benchmark::DoNotOptimize(p);
  }
  report(state, b);
}

// Everything a produce checks before writing: framing and CRC, then contents.
void BM_ValidateProduce(benchmark::State& state) {
  const TestBatch b = make_batch(state);
  const keel::BatchRules rules;
  for (auto _ : state) {
    benchmark::DoNotOptimize(kb::validate(u8(b.bytes), b.bytes.size()));
    const kb::Header h = *kb::parse_header(u8(b.bytes), b.bytes.size());
    benchmark::DoNotOptimize(keel::check_produced_batch(h, u8(b.bytes), rules));
  }
  report(state, b);
}

// The append the checks are part of (partition with both indexes, page
// cache only).
void BM_AppendChecked(benchmark::State& state) {
  const TestBatch b = make_batch(state);
  keel::bench::LogFixture f;
  // Warm-up: first touch of fresh memory and page cache is much slower here.
  for (int i = 0; i < 200; ++i) f.log->append(u8(b.bytes), b.bytes.size());
  for (auto _ : state) f.log->append(u8(b.bytes), b.bytes.size());
  report(state, b);
}

void codec_args(benchmark::internal::Benchmark* bm) {
  bm->ArgNames({"value", "codec"})->ArgsProduct({{100, 1024}, {0, 1, 2, 3, 4}});
}

BENCHMARK(BM_ValidateContents)->Apply(codec_args);
BENCHMARK(BM_ValidateProduce)->Apply(codec_args);
BENCHMARK(BM_AppendChecked)->Apply(codec_args)->UseRealTime();

}  // namespace
