// Offset commits through the broker API from many concurrent committers,
// with offsets_flush = "commit" (each answer waits for an fdatasync).
//
// A pool of `transport threads` serves `committers`, each of which has one
// commit outstanding at a time (a consumer committing synchronously) and
// sends its next one from the previous one's callback.
//  - async: a pool thread returns as soon as commit_offsets does (today's
//    broker: the flusher answers once the sync is over).
//  - blocking: a pool thread waits for the callback before it takes the next
//    commit, which is what a transport thread did before commits completed
//    asynchronously (commit_offsets returned after the sync). It models
//    that behaviour on the current code.
// Counters: commits/s (items_per_second) and flusher passes over
// __consumer_offsets per commit (syncs_per_commit; a pass syncs at most once).
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "broker.hpp"
#include "config/config.hpp"
#include "groups/offset_records.hpp"
#include "support/one_offset_commit.hpp"

namespace {

namespace fs = std::filesystem;

struct CommitLoad {
  CommitLoad(const keel_broker_api* api, bool blocking, int64_t target, int32_t committers)
      : api(api), blocking(blocking), target(target), next_offset(static_cast<size_t>(committers), 0) {
    for (int32_t c = 0; c < committers; ++c) ready.push_back(c);
  }

  const keel_broker_api* api;
  bool blocking;
  int64_t target;  // commits to answer

  std::mutex mu;
  std::condition_variable cv;
  std::deque<int32_t> ready;  // committers whose next commit is due
  int64_t sent = 0;
  int64_t answered = 0;
  int64_t failed = 0;
  std::vector<int64_t> next_offset;  // per committer

  struct Call {
    CommitLoad* load;
    int32_t committer;
    std::promise<void> done;  // blocking mode only
  };

  static void on_done(void* user, keel_status s, const char*) {
    auto* call = static_cast<Call*>(user);
    CommitLoad& l = *call->load;
    {
      std::lock_guard lock(l.mu);
      ++l.answered;
      if (s != KEEL_OK) ++l.failed;
      l.ready.push_back(call->committer);
      // Under the lock: once the last answer is counted the load may go.
      l.cv.notify_all();
    }
    if (l.blocking) {
      call->done.set_value();
    } else {
      delete call;
    }
  }

  void serve() {
    while (true) {
      int32_t c = 0;
      int64_t offset = 0;
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return !ready.empty() || sent >= target; });
        if (sent >= target) return;
        c = ready.front();
        ready.pop_front();
        ++sent;
        offset = ++next_offset[static_cast<size_t>(c)];
      }
      const keel::test::OneOffsetCommit one("bench-group", "bench", c, offset);
      const keel_group_commit& gc = one.commit;
      auto* call = new Call{this, c, {}};
      if (blocking) {
        auto f = call->done.get_future();
        api->commit_offsets(api->ctx, &gc, &on_done, call);
        f.wait();
        delete call;
      } else {
        api->commit_offsets(api->ctx, &gc, &on_done, call);
      }
    }
  }
};

void BM_CommitOffsets(benchmark::State& state) {
  const bool blocking = state.range(0) != 0;
  const int32_t committers = static_cast<int32_t>(state.range(1));
  const int threads = static_cast<int>(state.range(2));
  const char* base = std::getenv("KEEL_BENCH_DIR");
  const fs::path dir = fs::path(base != nullptr ? base : fs::temp_directory_path().string()) /
                       ("keel-commit-bench-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  {
    const std::string text = "[broker]\ndata_dir = \"" + dir.string() + "\"\nplugin_path = [\"" +
                             KEEL_BENCH_PLUGIN_DIR +
                             "\"]\noffsets_flush = \"commit\"\nlog_level = \"warn\"\n";
    keel::Broker broker(keel::parse_config(text, "bench.toml"));
    broker.start();
    std::atomic<int64_t> passes{0};
    broker.flusher().set_sync_hook([&](const keel::PartitionLog& log) {
      if (log.topic() == keel::offsets::kTopic) passes.fetch_add(1, std::memory_order_relaxed);
    });
    int64_t commits = 0;
    int64_t failed = 0;
    for (auto _ : state) {
      CommitLoad load(broker.api(), blocking, 20000, committers);
      std::vector<std::thread> pool;
      for (int t = 0; t < threads; ++t) pool.emplace_back([&] { load.serve(); });
      for (auto& th : pool) th.join();
      std::unique_lock lock(load.mu);
      load.cv.wait(lock, [&] { return load.answered >= load.sent; });
      commits += load.answered;
      failed += load.failed;
    }
    state.SetItemsProcessed(commits);
    state.counters["syncs_per_commit"] =
        static_cast<double>(passes.load()) / static_cast<double>(std::max<int64_t>(commits, 1));
    if (failed > 0) state.SkipWithError("some commits failed");
    broker.flusher().set_sync_hook(nullptr);
    broker.stop();
  }
  fs::remove_all(dir);
}

// blocking?, committers, transport threads
BENCHMARK(BM_CommitOffsets)
    ->ArgNames({"blocking", "committers", "threads"})
    ->Args({1, 64, 2})
    ->Args({0, 64, 2})
    ->Args({1, 64, 8})
    ->Args({0, 64, 8})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(1);

}  // namespace
