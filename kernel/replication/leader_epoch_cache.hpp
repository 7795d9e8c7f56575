// A partition's leader epochs (Kafka's LeaderEpochFileCache, KIP-101/279):
// the ordered list of (epoch, start_offset), one entry per epoch that wrote
// to the log, starting at the offset of its first batch. Followers and
// consumers ask where an epoch ended (end_offset_for) to find where their
// copy of the log diverges from the leader's.
//
// Persisted as `leader-epoch-checkpoint` in the partition directory, in
// Kafka's format: a version line (0), a count line, then one "epoch offset"
// line per entry. Every change is written (atomically: temp file, sync,
// rename) before it takes effect in memory, so the file is never behind
// the log: a crash can leave it ahead (an epoch whose first batch was not
// written), which the truncation at open removes.
//
// Threads: every member is safe from any thread; one mutex covers the list
// and the file. Writers (assign, truncations) are rare — once per new epoch
// or log start move — and hold it across the file write, so a reader may
// wait behind one fsync then. latest_epoch() takes no lock: every append
// asks it, and retention moves the log start (a file write under the mutex)
// as often as it deletes segments (docs/performance.md, "Retention's
// checkpoint write under the append lock").
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace keel {

struct EpochEntry {
  int32_t epoch = 0;
  int64_t start_offset = 0;
  bool operator==(const EpochEntry&) const = default;
};

// Kafka's UNDEFINED_EPOCH and UNDEFINED_EPOCH_OFFSET.
constexpr int32_t kUndefinedEpoch = -1;
constexpr int64_t kUndefinedEpochOffset = -1;

struct EpochEndOffset {
  int32_t epoch = kUndefinedEpoch;
  int64_t end_offset = kUndefinedEpochOffset;
  bool operator==(const EpochEndOffset&) const = default;
};

// Where `requested` ends in a log holding `entries` (oldest first) and
// ending at `log_end`: the latest epoch answers (epoch, log_end); an older
// one the largest epoch not above it and the start of the first epoch
// after it; an epoch before the first entry, above the latest, or any epoch
// of an empty list answers undefined (-1, -1).
EpochEndOffset end_offset_for(const std::vector<EpochEntry>& entries, int32_t requested, int64_t log_end);

class LeaderEpochCache {
 public:
  static constexpr const char* kFileName = "leader-epoch-checkpoint";

  // `dir`: the partition directory. Nothing is read until load().
  explicit LeaderEpochCache(std::string dir);

  // Reads the checkpoint. Returns false, leaving the cache empty, when it
  // is missing or damaged (*problem says which and why): the caller then
  // rebuilds the list from the log (assign per batch) and save()s it.
  bool load(std::string* problem);
  // Writes the current list (after a rebuild). Throws keel::Error (IO).
  void save();

  // Records that `epoch` starts at `start_offset`. Only an epoch greater
  // than the latest counts, and only at or after the latest start offset
  // (start offsets never go backwards): anything else changes nothing and
  // returns false. Throws keel::Error when the checkpoint cannot be written
  // (nothing changes then). `persist` false: in memory only (a rebuild,
  // saved once at its end).
  bool assign(int32_t epoch, int64_t start_offset, bool persist = true);
  // The latest epoch, -1 when there is none. Lock-free.
  int32_t latest_epoch() const { return latest_.load(std::memory_order_acquire); }
  EpochEndOffset end_offset_for(int32_t requested, int64_t log_end) const;
  // The log was cut at `offset`: entries starting at or after it go.
  void truncate_from_end(int64_t offset);
  // The log now starts at `offset`: entries wholly below it go; the one
  // covering it starts at `offset`.
  void truncate_from_start(int64_t offset);
  std::vector<EpochEntry> entries() const;
  std::string path() const { return dir_ + "/" + kFileName; }

 private:
  // Writes `next` then makes it the list. Called with mu_ held.
  void commit_locked(std::vector<EpochEntry> next);

  const std::string dir_;
  mutable std::mutex mu_;
  std::vector<EpochEntry> entries_;  // guarded by mu_; epochs and starts ascending
  // entries_.back().epoch (or -1), stored with every change of entries_.
  std::atomic<int32_t> latest_{kUndefinedEpoch};
  void set_entries_locked(std::vector<EpochEntry> next);
};

}  // namespace keel
