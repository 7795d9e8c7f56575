// Lookup latency of the built-in index plugins, loaded from their built
// libraries and called through the C ABI as a segment calls them.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <boost/dll/shared_library.hpp>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

// plugin_fixture.hpp names the test plugin directory; benches use their own.
#ifndef KEEL_TEST_PLUGIN_DIR
#define KEEL_TEST_PLUGIN_DIR KEEL_BENCH_PLUGIN_DIR
#endif
#include "support/plugin_fixture.hpp"

namespace {

namespace fs = std::filesystem;

constexpr int64_t kBase = 0;
constexpr int32_t kBatchBytes = 100;
constexpr int64_t kRecordsPerBatch = 10;
constexpr size_t kProbes = 4096;

// An index instance with `entries` entries (interval_bytes = 0 indexes every
// batch), in a temporary directory removed afterwards.
class BenchIndex {
 public:
  BenchIndex(const std::string& strategy, int64_t entries)
      : lib_(std::string(KEEL_BENCH_PLUGIN_DIR) + "/keel-index-" + strategy + ".so",
             boost::dll::load_mode::rtld_now),
        config_("interval_bytes = 0") {
    const auto* descriptor = lib_.get<const keel_plugin_descriptor*()>(KEEL_PLUGIN_ENTRY_SYMBOL)();
    for (uint32_t i = 0; i < descriptor->strategy_count; ++i) {
      const keel_strategy& s =
          *KEEL_ELEMENT(keel_strategy, descriptor->strategies, descriptor->strategy_size, i);
      if (strategy == s.name) vt_ = static_cast<const keel_index_vtable*>(s.vtable);
    }
    if (vt_ == nullptr) throw std::runtime_error("strategy " + strategy + " not in its library");
    dir_ = fs::temp_directory_path() / ("keel-index-bench-" + std::to_string(::getpid()) + "-" + strategy);
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    const std::string prefix = (dir_ / "00000000000000000000").string();
    keel_index_open_args args{.struct_size = sizeof args,
                              .writable = 1,
                              .path_prefix = prefix.c_str(),
                              .base_offset = kBase,
                              .log_size = 0,
                              .config = config_.get()};
    keel_error err{};
    if (vt_->open(host_.get(), &args, &index_, &err) != KEEL_OK) throw std::runtime_error(err.message);
    // The time index also indexes the first batch; the offset index never.
    const int64_t batches = strategy == "timestamp" ? entries : entries + 1;
    for (int64_t i = 0; i < batches; ++i) {
      keel_batch_info b{.struct_size = sizeof b,
                        .size = static_cast<int32_t>(kBatchBytes),
                        .base_offset = kBase + kRecordsPerBatch * i,
                        .last_offset = kBase + kRecordsPerBatch * i + 9,
                        .max_timestamp = 1'000'000 + i,
                        .position = kBatchBytes * i};
      if (vt_->on_append(index_, &b, &err) != KEEL_OK) throw std::runtime_error(err.message);
    }
    if (vt_->entry_count(index_) != entries) throw std::runtime_error("unexpected entry count");
    batches_ = batches;
  }
  ~BenchIndex() {
    vt_->close(index_, 1);
    fs::remove_all(dir_);
  }
  BenchIndex(const BenchIndex&) = delete;
  BenchIndex& operator=(const BenchIndex&) = delete;

  const keel_index_vtable* vt() const { return vt_; }
  keel_index* index() const { return index_; }
  int64_t batches() const { return batches_; }

 private:
  boost::dll::shared_library lib_;
  keel::test::TestHost host_;
  keel::test::TestConfig config_;
  const keel_index_vtable* vt_ = nullptr;
  keel_index* index_ = nullptr;
  fs::path dir_;
  int64_t batches_ = 0;
};

// Random probes, drawn up front so the loop measures only the lookups.
std::vector<int64_t> probes(int64_t lo, int64_t hi) {
  std::mt19937_64 rng(12345);
  std::uniform_int_distribution<int64_t> pick(lo, hi);
  std::vector<int64_t> out(kProbes);
  for (auto& p : out) p = pick(rng);
  return out;
}

void BM_SparseIndexLookup(benchmark::State& state) {
  BenchIndex idx("sparse-mmap", state.range(0));
  const auto targets = probes(kBase, kBase + idx.batches() * kRecordsPerBatch - 1);
  keel_index_entry e{.struct_size = sizeof e, .reserved = 0, .offset = 0, .position = 0, .timestamp = -1};
  keel_error err{};
  size_t i = 0;
  for (auto _ : state) {
    idx.vt()->lookup_offset(idx.index(), targets[i++ % kProbes], &e, &err);
    benchmark::DoNotOptimize(e);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SparseIndexLookup)->Arg(1000)->Arg(100000);

void BM_TimeIndexLookup(benchmark::State& state) {
  BenchIndex idx("timestamp", state.range(0));
  const auto targets = probes(1'000'000, 1'000'000 + idx.batches());
  keel_index_entry e{.struct_size = sizeof e, .reserved = 0, .offset = 0, .position = 0, .timestamp = -1};
  keel_error err{};
  size_t i = 0;
  for (auto _ : state) {
    idx.vt()->lookup_time(idx.index(), targets[i++ % kProbes], &e, &err);
    benchmark::DoNotOptimize(e);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TimeIndexLookup)->Arg(1000)->Arg(100000);

}  // namespace

BENCHMARK_MAIN();
