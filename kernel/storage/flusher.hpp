// The flusher thread: makes appended data durable according to each topic's
// flush policy and answers producers waiting for durability (acks=all).
//
// Group commit: while one fdatasync runs, further appends pile up and the
// next fdatasync covers them all, so the sync rate, not the produce rate,
// bounds durable throughput.
//
// Incremental writeback: once `writeback_bytes` are appended to a partition
// whose policy is not every-batch, the flusher starts the kernel's writeback
// of them (PartitionLog::write_back). Without it, with `os` or `interval`,
// a segment's dirty pages pile up until the roll's fdatasync writes a whole
// segment (1 GiB: 0.3-0.5 s here, with every append of the partition
// waiting) or the kernel throttles the appender for dirty memory.
//
// Sealed segments: a roll leaves the segment it seals unsynced (an
// fdatasync of a whole segment on the append path held every append of the
// partition for up to 0.7 s). appended() and rolled() queue the partition,
// and the flusher thread syncs them (PartitionLog::sync_sealed) after the
// syncs producers wait on. Until then the flushed offset stays below the
// sealed segment, so acks=all waiters and the recovery checkpoint wait too;
// a flush of the partition syncs it first anyway.
//
// A write-group leader (SyncOn::CallerIfIdle, which a transport asks for
// with KEEL_PRODUCE_SYNC_HERE): a caller that appends to an every-batch
// partition with no sync running or queued syncs it on its own thread and answers itself and every waiter
// the sync covered, as RocksDB's write leader does. At window 1 that saves
// the hand-offs to the flusher thread and back; appends arriving meanwhile
// follow (they wait in dirty_ and are answered by the leader if its sync
// covered them, else by the flusher).
//
// Threads: appended() and rolled() are called by producers and the
// maintenance thread (any thread). The flusher thread calls
// PartitionLog::flush(), write_back() and sync_sealed() and runs the
// completion callbacks; a leader runs flush() and callbacks on its own
// thread, never while the flusher or another leader syncs the same
// partition (syncing_).
#pragma once

#include <keel/plugin.h>

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.hpp"
#include "config/config.hpp"
#include "storage/partition_log.hpp"

namespace keel {

class Metrics;

struct FlushPolicy {
  FlushMode mode = FlushMode::EveryBatch;
  int64_t interval_ms = 1000;
  int64_t messages = 10000;
};

class Flusher {
 public:
  using Done = std::function<void(keel_status status, const std::string& message)>;

  Flusher(const Clock* clock, Metrics* metrics);
  ~Flusher();
  // Bytes per incremental writeback; 0 turns it off. Before start().
  void set_writeback_bytes(int64_t bytes) { writeback_bytes_ = bytes; }
  void start();
  // Flushes what is pending, answers every waiter, joins the thread.
  void stop();

  // Where the sync an every-batch waiter needs may run.
  enum class SyncOn {
    FlusherThread,
    // The caller's thread, when no sync of the partition runs or is queued
    // (see lead()); the caller must hold no lock `done` or a flush takes.
    CallerIfIdle,
  };
  // Records an append to `log` that ends before offset `until`. When `done`
  // is set it runs once `until` is durable under the policy (right away for
  // FlushMode::Os), or with an error if the sync fails.
  void appended(const std::shared_ptr<PartitionLog>& log, const FlushPolicy& policy, int64_t until, Done done,
                SyncOn sync_on = SyncOn::FlusherThread);
  // Queues the sync of the segment `log`'s last roll sealed, if that is
  // still to claim: appended() does it after each append, the maintenance
  // thread for every partition each pass (a roll by segment_ms, an append
  // that failed after its roll, a sync that failed).
  void rolled(const std::shared_ptr<PartitionLog>& log);
  // The partition goes away: fail its waiters.
  void forget(const PartitionLog* log);

  // stop() has begun (tests).
  bool stopping() {
    std::lock_guard lock(mu_);
    return stopping_;
  }

  // Test-only: runs before each sync of a partition, on the thread that
  // syncs (the flusher's, or a leader's). It may block (to hold the sync
  // back) or throw keel::Error (the sync then fails with that error, as a
  // failing fdatasync would). Set it before the data it concerns is
  // appended.
  using SyncHook = std::function<void(const PartitionLog& log)>;
  void set_sync_hook(SyncHook hook) {
    std::lock_guard lock(mu_);
    sync_hook_ = std::move(hook);
  }

 private:
  struct Waiter {
    int64_t until;
    Done done;
  };
  struct Entry {
    std::shared_ptr<PartitionLog> log;
    FlushPolicy policy;
    std::vector<Waiter> waiters;
  };

  void run();
  bool due(const Entry& e, int64_t now) const;
  struct Synced {
    keel_status status = KEEL_OK;
    std::string message;
    int64_t flushed = 0;
  };
  // PartitionLog::flush() behind the test hook, timed into keel_flush_seconds.
  Synced sync(PartitionLog& log, const SyncHook& hook);
  // Syncs `log` on the calling thread, then answers `done` and the waiters
  // the sync covered. syncing_ holds the log (the caller put it there).
  void lead(const std::shared_ptr<PartitionLog>& log, const FlushPolicy& policy, int64_t until, Done done,
            const SyncHook& hook);

  const Clock* clock_;
  Metrics* metrics_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<const PartitionLog*, Entry> dirty_;
  // Partitions whose flush runs now, on the flusher thread or on a leader;
  // their waiters in dirty_ wait for it to end.
  std::set<const PartitionLog*> syncing_;                                   // mu_
  std::map<const PartitionLog*, std::shared_ptr<PartitionLog>> writeback_;  // mu_
  std::map<const PartitionLog*, std::shared_ptr<PartitionLog>> sealed_;     // mu_
  int64_t writeback_bytes_ = 0;  // set before start(), read-only after
  SyncHook sync_hook_;           // mu_
  bool stopping_ = false;
  bool stopped_ = false;
  std::thread thread_;
};

}  // namespace keel
