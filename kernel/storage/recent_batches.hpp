// Where the last batches appended to the active segment start. Readers at
// the log's end (followers fetching the batch just written, consumers
// tailing a topic) ask for one of them; without this a read starts at the
// sparse index's entry before the offset and reads every batch header from
// there, one pread per batch: about 18 system calls for each lone record a
// follower fetched (docs/performance.md, "A read at the log's end").
//
// Only batches this process appended are remembered, so a position here is
// never taken from disk; a reader still checks the header it finds there.
//
// Threads: the partition's writer adds and cuts; readers find. A mutex
// guards the ring: the writer holds it for a few stores per append, a
// reader for a short scan.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <vector>

namespace keel {

class RecentBatches {
 public:
  struct Batch {
    int64_t base_offset;
    int64_t last_offset;
    int64_t position;
    int64_t end;  // the position after it
  };

  // Enough for a follower or consumer a few requests behind; older reads
  // use the index.
  static constexpr size_t kCapacity = 64;

  // A batch appended at `position` (after every batch already added).
  void add(const Batch& b) {
    std::lock_guard lock(mu_);
    if (ring_.empty()) ring_.resize(kCapacity);
    ring_[next_] = b;
    next_ = (next_ + 1) % kCapacity;
    if (count_ < kCapacity) ++count_;
  }

  // The remembered batch holding `offset`, if any, starting below `limit`.
  std::optional<Batch> find(int64_t offset, int64_t limit) const {
    std::lock_guard lock(mu_);
    // Newest first: most reads ask for the last batch or one just before.
    for (size_t i = 0; i < count_; ++i) {
      const Batch& b = ring_[(next_ + kCapacity - 1 - i) % kCapacity];
      if (b.last_offset < offset) return std::nullopt;  // past the newest that could hold it
      if (b.base_offset <= offset) {
        if (b.position >= limit) return std::nullopt;
        return b;
      }
    }
    return std::nullopt;
  }

  // The segment was cut at `position`: forget every batch not wholly
  // before it.
  void cut(int64_t position) {
    std::lock_guard lock(mu_);
    while (count_ > 0) {
      const size_t newest = (next_ + kCapacity - 1) % kCapacity;
      if (ring_[newest].end <= position) break;
      next_ = newest;
      --count_;
    }
  }

  // The segment is sealed: its readers are catching up and use the index,
  // so the memory goes back.
  void clear() {
    std::lock_guard lock(mu_);
    std::vector<Batch>().swap(ring_);
    next_ = count_ = 0;
  }

 private:
  mutable std::mutex mu_;
  std::vector<Batch> ring_;  // kCapacity entries once the first batch is added
  size_t next_ = 0;          // where the next batch goes
  size_t count_ = 0;         // batches remembered, newest at next_ - 1
};

}  // namespace keel
