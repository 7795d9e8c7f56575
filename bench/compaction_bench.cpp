// Throughput and memory of the `compaction` retention (Kafka's
// cleanup.policy=compact) through a real Topic: Topic::apply_retention runs
// the plugin's passes over a changelog of uniformly random updates to a set
// of keys. The changelog is written once; every iteration compacts a fresh
// copy of it, so each pass finds the whole log dirty.
//
// Counters: `input` is bytes of stored segments per second (the segments the
// pass started from, compressed size for zstd); `passes` the passes needed
// (the key map's budget is buffer_bytes); `map_MiB` the plugin's own estimate
// of its key map (largest pass, from its log line); `peak_rss_MiB` how far the
// process's peak RSS rose above its RSS during the first (warm-up) compaction
// (VmHWM, reset through /proc/self/clear_refs, after malloc_trim).
#include <benchmark/benchmark.h>
#include <malloc.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <keel/codec.hpp>
#include <keel/record_batch.hpp>
#include <memory>
#include <mutex>
#include <random>
#include <regex>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "plugins/plugin_registry.hpp"
#include "storage/segment.hpp"
#include "topic.hpp"

namespace {

namespace fs = std::filesystem;
namespace kb = keel::batch;

constexpr int64_t kMiB = 1 << 20;
constexpr int64_t kSegmentBytes = 64 * kMiB;
constexpr int64_t kBatchBytes = 64 * 1024;  // uncompressed, what clients send
constexpr int64_t kFirstTimestamp = 1'700'000'000'000;
constexpr int64_t kDay = 24LL * 3600 * 1000;
constexpr const char* kTopic = "changelog";

// What the plugin says goes to stderr only at warning level and up; its
// per-pass "compacted ..." line is kept for the counters.
class CaptureSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  std::vector<std::string> take() {
    std::lock_guard lock(mutex_);
    return std::exchange(lines_, {});
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    std::string text(msg.payload.data(), msg.payload.size());
    if (msg.level >= spdlog::level::warn)
      std::fprintf(stderr, "[%s] %s\n", msg.logger_name.data(), text.c_str());
    lines_.push_back(std::move(text));
  }
  void flush_() override {}

 private:
  std::vector<std::string> lines_;
};

// Routes the default logger (which plugin hosts copy when they load) to a
// CaptureSink while a benchmark runs.
class LogCapture {
 public:
  LogCapture() : previous_(spdlog::default_logger()), sink_(std::make_shared<CaptureSink>()) {
    auto logger = std::make_shared<spdlog::logger>("bench", sink_);
    logger->set_level(spdlog::level::info);
    spdlog::set_default_logger(logger);
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }
  CaptureSink& sink() { return *sink_; }

 private:
  std::shared_ptr<spdlog::logger> previous_;
  std::shared_ptr<CaptureSink> sink_;
};

struct Spec {
  int value_size;
  int64_t keys;
  kb::Compression codec;
  int64_t buffer_bytes;
  int64_t raw_bytes;  // uncompressed record bytes to write
};

Spec spec_of(const benchmark::State& state) {
  return Spec{static_cast<int>(state.range(0)), state.range(1), static_cast<kb::Compression>(state.range(2)),
              state.range(3) * kMiB, state.range(4) * kMiB};
}

std::string key_of(int64_t id) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "k%08lld", static_cast<long long>(id));
  return buf;
}

// Values that compress like application JSON (zstd ~2-4x), drawn from a pool
// large enough that one batch rarely repeats a value.
std::vector<std::string> value_pool(int value_size) {
  static const char* words[] = {"alpha",  "bravo",    "charlie", "delta",  "echo",   "foxtrot",
                                "golf",   "hotel",    "india",   "juliet", "kilo",   "lima",
                                "mike",   "november", "oscar",   "papa",   "quebec", "romeo",
                                "sierra", "tango",    "uniform", "victor", "whiskey"};
  std::mt19937_64 rng(7);
  std::vector<std::string> pool(16384);
  for (auto& v : pool) {
    v = "{\"id\":" + std::to_string(rng() % 1000000) + ",\"status\":\"" + words[rng() % 23] +
        "\",\"balance\":" + std::to_string(rng() % 100000) + "." + std::to_string(rng() % 100) +
        ",\"note\":\"";
    while (static_cast<int>(v.size()) < value_size) v += std::string(words[rng() % 23]) + ' ';
    v.resize(static_cast<size_t>(value_size) - 2);
    v += "\"}";
  }
  return pool;
}

struct Context {
  keel::ManualClock clock{kFirstTimestamp + kDay};
  LogCapture capture;
  keel::PluginRegistry registry{{KEEL_BENCH_PLUGIN_DIR}, &clock};
  std::shared_ptr<toml::table> settings;

  explicit Context(const Spec& spec)
      : settings(std::make_shared<toml::table>(toml::parse(
            "buffer_bytes = " + std::to_string(spec.buffer_bytes), std::string_view("bench.toml")))) {}

  std::unique_ptr<keel::Topic> open(const fs::path& data_dir) {
    keel::TopicConfig cfg;
    cfg.name = kTopic;
    cfg.partitions = 1;
    cfg.segment_bytes = kSegmentBytes;
    cfg.retention = {"compaction"};
    cfg.plugin_settings["compaction"].tables = {settings.get()};
    cfg.plugin_settings["compaction"].table_names = {"[topics.changelog.plugins.compaction]"};
    auto topic = std::make_unique<keel::Topic>(cfg, registry, data_dir.string(), &clock);
    topic->open(true, [](int32_t) { return int64_t{0}; });
    return topic;
  }
};

fs::path unique_dir(const std::string& tag) {
  static int counter = 0;
  return fs::temp_directory_path() /
         ("keel-bench-" + tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
}

// The changelog as written once, with what a correct compaction keeps.
struct Changelog {
  fs::path dir;
  std::vector<int64_t> newest;  // key id -> offset of its last update, -1 if never written
  int64_t records = 0;
  int64_t distinct = 0;
  int64_t stored_bytes = 0;

  Changelog(Context& ctx, const Spec& spec) : dir(unique_dir("changelog")), newest(spec.keys, -1) {
    const auto pool = value_pool(spec.value_size);
    const int64_t record_bytes = spec.value_size + 9 + 8;  // value, key, framing
    const int64_t per_batch = std::max<int64_t>(1, kBatchBytes / record_bytes);
    const int64_t total = spec.raw_bytes / record_bytes;
    std::mt19937_64 rng(42);
    auto topic = ctx.open(dir);
    auto log = topic->partition(0);
    std::vector<kb::Record> batch;
    while (records < total) {
      batch.clear();
      for (int64_t i = 0; i < per_batch && records + i < total; ++i) {
        const int64_t id = static_cast<int64_t>(rng() % static_cast<uint64_t>(spec.keys));
        newest[id] = records + i;
        batch.push_back(
            kb::Record{0, kFirstTimestamp + records + i, key_of(id), pool[rng() % pool.size()], {}});
      }
      const std::string data = keel::codec::build_batch(batch, spec.codec);
      log->append(reinterpret_cast<const uint8_t*>(data.data()), data.size());
      records += static_cast<int64_t>(batch.size());
    }
    // Everything into closed segments: only those are compacted.
    ctx.clock.advance(8 * kDay);
    log->roll_if_aged();
    stored_bytes = log->size_bytes();
    topic->close();
    distinct = std::count_if(newest.begin(), newest.end(), [](int64_t o) { return o >= 0; });
  }
  ~Changelog() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

int64_t status_kib(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const std::string prefix = std::string(field) + ":";
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) == 0) return std::stoll(line.substr(prefix.size()));
  }
  return 0;
}

// Makes VmHWM restart from the current RSS (Linux >= 4.0).
void reset_peak_rss() { std::ofstream("/proc/self/clear_refs") << "5"; }

struct Outcome {
  int passes = 0;
  bool finished = false;
  double map_mib = 0;  // largest pass
  std::string error;   // empty when all went well
};

// Runs apply_retention until a pass covers the whole log, as the broker's
// maintenance thread would on successive rounds.
Outcome compact(Context& ctx, keel::Topic& topic) {
  static const std::regex pass_line(R"(^compacted .* \d+ key\(s\) mapped in ([0-9.]+) MiB)");
  Outcome out;
  while (!out.finished && out.passes < 64) {
    topic.apply_retention(ctx.clock.now_ms());
    bool ran = false;
    for (const auto& line : ctx.capture.sink().take()) {
      std::smatch m;
      if (std::regex_search(line, m, pass_line)) {
        ran = true;
        ++out.passes;
        out.map_mib = std::max(out.map_mib, std::stod(m[1].str()));
        out.finished = line.find("key map was full") == std::string::npos;
      } else if (line.find("failed") != std::string::npos) {
        out.error = line;
      }
    }
    if (!out.error.empty()) return out;
    if (!ran) {
      out.error = "apply_retention ran no compaction pass (pass " + std::to_string(out.passes + 1) + ")";
      return out;
    }
  }
  if (!out.finished) out.error = "compaction did not finish in 64 passes";
  return out;
}

// Every key must be left exactly once, at the offset of its last update.
std::string verify(const keel::Topic& topic, const Changelog& log) {
  int64_t kept = 0;
  std::string problem;
  for (const auto& seg : topic.partition(0)->closed_segments()) {
    seg->for_each_batch([&](const uint8_t* data, size_t len) {
      for (const auto& rec : keel::codec::decode_batch(data, len)) {
        const int64_t id = std::stoll(rec.key.value_or("k-1").substr(1));
        if (id < 0 || id >= static_cast<int64_t>(log.newest.size()) || log.newest[id] != rec.offset) {
          problem = "record at offset " + std::to_string(rec.offset) + " (key " + rec.key.value_or("<null>") +
                    ") survived compaction but its key's last update is at offset " +
                    (id >= 0 && id < static_cast<int64_t>(log.newest.size()) ? std::to_string(log.newest[id])
                                                                             : "<none>");
          return false;
        }
        ++kept;
      }
      return true;
    });
    if (!problem.empty()) return problem;
  }
  if (kept != log.distinct) {
    return "compaction kept " + std::to_string(kept) + " records for " + std::to_string(log.distinct) +
           " keys";
  }
  return "";
}

// One fresh, fully dirty copy of the changelog, open and in the page cache.
struct Copy {
  fs::path dir;
  std::unique_ptr<keel::Topic> topic;

  Copy(Context& ctx, const Changelog& log) : dir(unique_dir("compact")) {
    fs::copy(log.dir, dir, fs::copy_options::recursive);
    // Write-back of the copy must not compete with the timed pass.
    ::sync();
    topic = ctx.open(dir);
    ctx.capture.sink().take();
  }
  ~Copy() {
    if (topic) topic->close();
    topic.reset();
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

void BM_Compact(benchmark::State& state) {
  const Spec spec = spec_of(state);
  Context ctx(spec);
  Changelog log(ctx, spec);

  // Warm-up: first touch of the map's and the codec's memory is several
  // times slower on these machines. This pass also checks the result and
  // gives the memory figure: free heap goes back to the kernel first, so the
  // pass's own allocations show up in the peak RSS. (Later passes reuse the
  // heap this one left, so their peak says nothing.)
  int64_t peak_rss_kib = 0;
  {
    Copy warm(ctx, log);
    ::malloc_trim(0);
    const int64_t rss_before = status_kib("VmRSS");
    reset_peak_rss();
    const Outcome o = compact(ctx, *warm.topic);
    peak_rss_kib = status_kib("VmHWM") - rss_before;
    std::string problem = o.error.empty() ? verify(*warm.topic, log) : o.error;
    if (!problem.empty()) {
      state.SkipWithError(problem.c_str());
      for (auto _ : state) {
      }
      return;
    }
  }

  Outcome last;
  int64_t out_bytes = 0;
  for (auto _ : state) {
    state.PauseTiming();
    Copy copy(ctx, log);
    state.ResumeTiming();

    last = compact(ctx, *copy.topic);

    state.PauseTiming();
    out_bytes = copy.topic->partition(0)->size_bytes();
    if (!last.error.empty()) state.SkipWithError(last.error.c_str());
    state.ResumeTiming();
  }

  const auto n = static_cast<double>(state.iterations());
  state.SetLabel(kb::compression_name(spec.codec));
  state.SetItemsProcessed(state.iterations() * log.records);
  state.counters["input"] =
      benchmark::Counter(n * static_cast<double>(log.stored_bytes), benchmark::Counter::kIsRate);
  state.counters["in_MiB"] = static_cast<double>(log.stored_bytes) / kMiB;
  state.counters["out_MiB"] = static_cast<double>(out_bytes) / kMiB;
  state.counters["keys"] = static_cast<double>(log.distinct);
  state.counters["passes"] = last.passes;
  state.counters["map_MiB"] = last.map_mib;
  state.counters["peak_rss_MiB"] = static_cast<double>(peak_rss_kib) / 1024;
}

void Changelogs(benchmark::internal::Benchmark* b) {
  b->ArgNames({"value", "keys", "codec", "buffer_MiB", "raw_MiB"});
  const auto none = static_cast<int64_t>(kb::Compression::None);
  const auto zstd = static_cast<int64_t>(kb::Compression::Zstd);
  for (int64_t codec : {none, zstd}) {
    b->Args({1024, 10'000, codec, 64, 256});
    b->Args({100, 10'000, codec, 64, 256});
    b->Args({100, 1'000'000, codec, 64, 256});
  }
  // A 16 MiB map holds about a quarter of the keys: several passes.
  b->Args({100, 1'000'000, none, 16, 128});
  b->Iterations(2)->Unit(benchmark::kMillisecond)->UseRealTime();
}
BENCHMARK(BM_Compact)->Apply(Changelogs);

}  // namespace
