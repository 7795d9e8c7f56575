// Compression throughput per Kafka codec on 1 MiB of realistic records (a
// batch's records section of log-like JSON values): what compaction pays to
// recompress and timestamp look-ups / the HTTP transport pay to decompress.
// Bytes processed are uncompressed bytes, so MB/s compare across codecs.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <keel/codec.hpp>
#include <keel/record_batch.hpp>
#include <random>
#include <string>

namespace {

namespace kb = keel::batch;

const uint8_t* u8(const std::string& s) { return reinterpret_cast<const uint8_t*>(s.data()); }

const std::string& records_section() {
  static const std::string section = [] {
    constexpr size_t kBytes = 1 << 20;
    std::mt19937 rng(42);
    const char* levels[] = {"INFO", "WARN", "DEBUG", "ERROR"};
    kb::Builder b;
    std::string out;
    for (int i = 0; out.size() < kBytes; ++i) {
      b.add("user-" + std::to_string(rng() % 1000),
            std::string("{\"level\":\"") + levels[rng() % 4] + "\",\"request\":" + std::to_string(rng()) +
                ",\"path\":\"/api/v1/items/" + std::to_string(rng() % 5000) +
                "\",\"ms\":" + std::to_string(rng() % 900) + "}",
            1'700'000'000'000 + i);
      if (b.record_count() % 1000 == 0) out = b.build().substr(kb::kHeaderSize);
    }
    return out;
  }();
  return section;
}

void BM_Compress(benchmark::State& state) {
  const auto c = static_cast<kb::Compression>(state.range(0));
  const std::string& plain = records_section();
  size_t packed = 0;
  for (auto _ : state) {
    const std::string out = keel::codec::compress(c, u8(plain), plain.size());
    packed = out.size();
    benchmark::DoNotOptimize(out.data());
  }
  state.SetLabel(kb::compression_name(c));
  state.counters["ratio"] = static_cast<double>(plain.size()) / static_cast<double>(packed);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * plain.size()));
}

void BM_Decompress(benchmark::State& state) {
  const auto c = static_cast<kb::Compression>(state.range(0));
  const std::string& plain = records_section();
  const std::string packed = keel::codec::compress(c, u8(plain), plain.size());
  for (auto _ : state) {
    const std::string out = keel::codec::decompress(c, u8(packed), packed.size());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetLabel(kb::compression_name(c));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * plain.size()));
}

// 1 gzip, 2 snappy, 3 lz4, 4 zstd.
BENCHMARK(BM_Compress)->DenseRange(1, 4)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Decompress)->DenseRange(1, 4)->Unit(benchmark::kMillisecond);

}  // namespace
