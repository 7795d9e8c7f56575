// Index `memory`: an offset index held in memory only, one entry every
// `every_batches` batches (default 1). It writes no file, so after every
// start the broker replays the segment's batches into it (recovery position
// 0): cheap for small segments, slow to open for big ones. It shows the
// index contract without any file format.
//
//   [topics.t]
//   index = ["memory"]
//   [topics.t.plugins.memory]
//   every_batches = 4
#include <algorithm>
#include <cstdint>
#include <keel/plugin.hpp>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

namespace {

class MemoryIndex final : public keel::sdk::Index {
 public:
  MemoryIndex(const keel::sdk::Host& host, const keel_index_open_args& args)
      : base_offset_(args.base_offset) {
    const keel::sdk::Config config(host.raw(), args.config);
    every_ = config.get_int("every_batches", 1);
    if (every_ < 1) {
      throw keel::sdk::Error(KEEL_ERR_INVALID_ARGUMENT,
                             "setting 'every_batches' is " + std::to_string(every_) + "; use 1 or more");
    }
  }

  // Nothing survives a restart: ask for every batch again.
  int64_t recovery_position() override { return 0; }

  // Writer thread. Lookups run concurrently, hence the exclusive lock.
  void on_append(const keel_batch_info& batch) override {
    std::unique_lock lock(mutex_);
    // The broker may replay batches the index already holds: ignore them.
    if (batch.position < next_position_) return;
    next_position_ = batch.position + batch.size;
    if (batches_seen_++ % every_ == 0) entries_.push_back({batch.base_offset, batch.position});
  }

  // Reader threads: the last entry whose batch starts at or before `offset`;
  // the broker scans forward from its position.
  keel_index_entry lookup_offset(int64_t offset) override {
    std::shared_lock lock(mutex_);
    auto it = std::upper_bound(entries_.begin(), entries_.end(), offset,
                               [](int64_t o, const Entry& e) { return o < e.offset; });
    keel_index_entry out{};
    out.timestamp = -1;
    if (it == entries_.begin()) {
      out.offset = base_offset_;  // none: scan from the segment's start
      return out;
    }
    --it;
    out.offset = it->offset;
    out.position = it->position;
    return out;
  }

  void truncate(int64_t log_size) override {
    std::unique_lock lock(mutex_);
    std::erase_if(entries_, [&](const Entry& e) { return e.position >= log_size; });
    // Replayed batches from the cut on must be indexed again.
    next_position_ = std::min(next_position_, log_size);
  }

  void flush() override {}
  void seal() override {}
  int64_t entry_count() override {
    std::shared_lock lock(mutex_);
    return static_cast<int64_t>(entries_.size());
  }
  void remove_files() override {}

 private:
  struct Entry {
    int64_t offset;
    int64_t position;
  };
  const int64_t base_offset_;
  int64_t every_ = 1;
  std::shared_mutex mutex_;
  std::vector<Entry> entries_;  // ascending offsets and positions
  int64_t next_position_ = 0;   // log position just past the last batch seen
  int64_t batches_seen_ = 0;
};

}  // namespace

KEEL_PLUGIN("memory-index", "1.0.0",
            keel::sdk::index_strategy<MemoryIndex>("memory", KEEL_INDEX_CAN_LOOKUP_OFFSET))
