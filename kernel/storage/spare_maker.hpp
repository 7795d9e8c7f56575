// The spare maker thread: gives busy partitions their next segment's
// blocks ahead of the roll (spare_segment::prepare), so that no append
// ever allocates a block in the file system.
//
// A partition asks (PartitionLog::SpareHooks::wanted) when its active
// segment passes half of segment_bytes, and again at each roll of a full
// segment; the maker's thread then calls PartitionLog::prepare_spare(),
// which makes one only if the partition has none. A partition that never
// fills half a segment (rolled by age, or idle) never costs a spare's disk
// space, and one that slows down loses its spare at a retention pass.
//
// A full disk: a partition whose write found no room says so
// (SpareHooks::no_space); the maker cancels the spare it is allocating and
// deletes the spares, recycled or prepared, of every partition it has
// hooks for, so that room held for later rolls never makes another
// partition's write fail for long (its retry finds the room).
//
// One thread for the broker: allocating is file-system metadata work (a
// fallocate of 256 MiB took up to 229 ms here), kept off the append path,
// the flusher and the maintenance pass alike.
//
// Threads: want() and release_all() from any thread, including under a
// partition's append lock (they only queue, and never throw); the maker's
// own thread does the rest. stop() cancels the spare in progress at its
// next chunk and joins: a partition then gets no new spare, and a roll
// makes a hole as before.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "storage/partition_log.hpp"

namespace keel {

class SpareMaker {
 public:
  SpareMaker() = default;
  ~SpareMaker() { stop(); }
  SpareMaker(const SpareMaker&) = delete;
  SpareMaker& operator=(const SpareMaker&) = delete;

  // The hooks to give `log` (PartitionLog::set_spare_hooks), which also
  // lists it among the partitions a full disk releases. Held weakly: a
  // deleted partition is skipped.
  PartitionLog::SpareHooks hooks_for(const std::shared_ptr<PartitionLog>& log);
  void want(std::weak_ptr<PartitionLog> log) noexcept;
  // Cancels the spare being allocated and deletes every served
  // partition's spares, on the maker's thread.
  void release_all() noexcept;
  void stop();
  // Waits until everything queued before the call is done (tests).
  void drain();

 private:
  // Queues `job`; false if stopped or the thread cannot start.
  bool enqueue(std::weak_ptr<PartitionLog> log, bool release) noexcept;
  void run();
  void release_served();

  struct Job {
    std::weak_ptr<PartitionLog> log;  // a spare for it, or (release) none
    bool release = false;
  };
  std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable done_cv_;
  std::deque<Job> queue_;                            // mu_
  std::vector<std::weak_ptr<PartitionLog>> served_;  // mu_: every partition hooked
  uint64_t queued_ = 0;                              // mu_: ever queued
  uint64_t done_ = 0;                                // mu_: ever finished or dropped
  bool stopped_ = false;                             // mu_
  bool release_pending_ = false;                     // mu_: a release job is queued
  // Read by the allocation in progress between chunks: stop() or a full disk.
  std::atomic<bool> cancel_{false};
  std::thread thread_;  // started by the first job
};

}  // namespace keel
