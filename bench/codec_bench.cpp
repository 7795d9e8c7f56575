// Throughput of the RecordBatch v2 codec and CRC-32C: the per-produce and
// per-fetch costs the broker pays on every batch.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <keel/crc32c.hpp>
#include <keel/record_batch.hpp>
#include <random>
#include <string>
#include <vector>

namespace {

namespace kb = keel::batch;

std::string random_payload(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string out(n, '\0');
  for (auto& c : out) c = static_cast<char>(rng());
  return out;
}

const uint8_t* u8(const std::string& s) { return reinterpret_cast<const uint8_t*>(s.data()); }

kb::Builder make_builder(int records, size_t value_size) {
  kb::Builder b(0);
  const std::string value = random_payload(value_size, 1);
  for (int i = 0; i < records; ++i) b.add("key-" + std::to_string(i), value, 1'700'000'000'000 + i);
  return b;
}

void BM_Crc32c(benchmark::State& state) {
  const std::string data = random_payload(static_cast<size_t>(state.range(0)), 7);
  for (auto _ : state) benchmark::DoNotOptimize(keel::crc32c(data.data(), data.size()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_Crc32c)->Arg(64)->Arg(4 << 10)->Arg(1 << 20);

// The portable path, to see what CPUs without SSE4.2 get.
void BM_Crc32cSoftware(benchmark::State& state) {
  const std::string data = random_payload(static_cast<size_t>(state.range(0)), 7);
  for (auto _ : state) benchmark::DoNotOptimize(keel::detail::crc32c_sw(data.data(), data.size()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_Crc32cSoftware)->Arg(64)->Arg(4 << 10)->Arg(1 << 20);

// Args: records per batch, value size.
void BM_BatchBuild(benchmark::State& state) {
  const auto records = static_cast<int>(state.range(0));
  const std::string value = random_payload(static_cast<size_t>(state.range(1)), 1);
  std::vector<std::string> keys;
  for (int i = 0; i < records; ++i) keys.push_back("key-" + std::to_string(i));
  size_t batch_size = 0;
  for (auto _ : state) {
    kb::Builder b(0);
    for (int i = 0; i < records; ++i) b.add(keys[static_cast<size_t>(i)], value, 1'700'000'000'000 + i);
    const std::string batch = b.build();
    batch_size = batch.size();
    benchmark::DoNotOptimize(batch.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * records);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * batch_size));
}
BENCHMARK(BM_BatchBuild)->Args({100, 100})->Args({100, 1024});

void BM_BatchDecode(benchmark::State& state) {
  const auto records = static_cast<int>(state.range(0));
  const std::string batch = make_builder(records, static_cast<size_t>(state.range(1))).build();
  for (auto _ : state) {
    auto out = kb::decode(u8(batch), batch.size());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * records);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * batch.size()));
}
BENCHMARK(BM_BatchDecode)->Args({100, 100})->Args({100, 1024});

void BM_BatchValidate(benchmark::State& state) {
  const auto records = static_cast<int>(state.range(0));
  const std::string batch = make_builder(records, static_cast<size_t>(state.range(1))).build();
  for (auto _ : state) {
    auto why = kb::validate(u8(batch), batch.size());
    benchmark::DoNotOptimize(why.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * records);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * batch.size()));
}
BENCHMARK(BM_BatchValidate)->Args({100, 100})->Args({100, 1024});

}  // namespace
