// Append and fetch throughput of a partition log (kernel only, no network),
// with the built-in sparse-mmap and timestamp indexes.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <functional>
#include <keel/record_batch.hpp>
#include <string>

#include "log_fixture.hpp"

namespace {

std::string make_batch(int records, int value_size) {
  keel::batch::Builder b;
  std::string value(static_cast<size_t>(value_size), 'v');
  for (int i = 0; i < records; ++i) b.add(std::string("key-") + std::to_string(i), value, 1700000000000 + i);
  return b.build();
}

// Appends batches of ~64 KiB (or one record when records are larger).
void BM_Append(benchmark::State& state) {
  const int value_size = static_cast<int>(state.range(0));
  const int per_batch = std::max(1, 65536 / value_size);
  const std::string batch = make_batch(per_batch, value_size);
  keel::bench::LogFixture f;
  // Warm-up: first touch of fresh memory and page cache is much slower here.
  for (int i = 0; i < 200; ++i) f.log->append(reinterpret_cast<const uint8_t*>(batch.data()), batch.size());
  for (auto _ : state) {
    f.log->append(reinterpret_cast<const uint8_t*>(batch.data()), batch.size());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(batch.size()));
  state.SetItemsProcessed(state.iterations() * per_batch);
  state.counters["batches/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Append)->Arg(100)->Arg(1024)->Arg(16384)->UseRealTime();

// Appends then fdatasyncs each batch: the durable (acks=all, one producer) path.
void BM_AppendFsync(benchmark::State& state) {
  const std::string batch = make_batch(64, 1024);
  keel::bench::LogFixture f;
  for (int i = 0; i < 20; ++i) f.log->append(reinterpret_cast<const uint8_t*>(batch.data()), batch.size());
  for (auto _ : state) {
    f.log->append(reinterpret_cast<const uint8_t*>(batch.data()), batch.size());
    f.log->flush();
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(batch.size()));
}
BENCHMARK(BM_AppendFsync)->UseRealTime();

// Reads 1 MiB windows sequentially from a 256 MiB log of 64 x 1 KiB
// batches (page cache warm). `at_end` runs, outside the timing, each time
// the reads reach the end of the log, before they start over.
void read_windows(benchmark::State& state, const std::function<void(keel::bench::LogFixture&)>& at_end) {
  const std::string batch = make_batch(64, 1024);
  keel::bench::LogFixture f;
  const int64_t batches = (256 << 20) / static_cast<int64_t>(batch.size());
  for (int64_t i = 0; i < batches; ++i)
    f.log->append(reinterpret_cast<const uint8_t*>(batch.data()), batch.size());
  at_end(f);
  std::string buf(1 << 21, '\0');
  int64_t offset = 0;
  int64_t bytes = 0;
  for (auto _ : state) {
    keel::ReadResult r = f.log->read(offset, 1 << 20);
    if (r.length == 0) {
      state.PauseTiming();
      at_end(f);
      offset = 0;
      state.ResumeTiming();
      continue;
    }
    benchmark::DoNotOptimize(::pread(r.segment->fd(), buf.data(), static_cast<size_t>(r.length), r.position));
    bytes += r.length;
    // Next window starts after the last batch returned.
    offset += (r.length / static_cast<int64_t>(batch.size())) * 64;
  }
  state.SetBytesProcessed(bytes);
}

// Reads of bytes the log verified already (written by this process).
void BM_Fetch(benchmark::State& state) {
  read_windows(state, [](keel::bench::LogFixture&) {});
}
BENCHMARK(BM_Fetch)->UseRealTime();

// The same reads of a log found on disk at start-up: the first read of each
// batch checks its CRC (a pread of the window plus CRC-32C) before the bytes
// may go to a consumer. The log is reopened whenever the reads reach its
// end, so every timed read is a first read.
void BM_FetchFirstRead(benchmark::State& state) {
  read_windows(state, [](keel::bench::LogFixture& f) {
    f.log->close();
    f.log = std::make_unique<keel::PartitionLog>("bench", 0, f.dir, f.log->options(), &f.clock);
    f.log->open(true, 0);
  });
}
BENCHMARK(BM_FetchFirstRead)->UseRealTime();

}  // namespace
