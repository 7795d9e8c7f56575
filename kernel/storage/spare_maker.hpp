// The spare maker thread: gives busy partitions their next segment's
// blocks ahead of the roll (spare_segment::prepare), so that no append
// ever allocates a block in the file system.
//
// A partition asks (PartitionLog::on_spare_wanted) when its active segment
// passes half of segment_bytes, and again at each roll of a full segment;
// the maker's thread then calls PartitionLog::prepare_spare(), which makes
// one only if the partition has none. A partition that never fills half a
// segment (rolled by age, or idle) never costs a spare's disk space.
//
// One thread for the broker: allocating is file-system metadata work (a
// fallocate of 1 GiB took 20-775 ms here), kept off the append path, the
// flusher and the maintenance pass alike.
//
// Threads: want() from any thread, including under a partition's append
// lock (it only queues); the maker's own thread does the rest. stop()
// joins it: a partition then gets no new spare, and a roll makes a hole as
// before.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

namespace keel {

class PartitionLog;

class SpareMaker {
 public:
  SpareMaker() = default;
  ~SpareMaker() { stop(); }
  SpareMaker(const SpareMaker&) = delete;
  SpareMaker& operator=(const SpareMaker&) = delete;

  // The callback to hand to `log->on_spare_wanted`: queues the partition
  // (weakly: a deleted partition is skipped).
  std::function<void()> hook_for(const std::shared_ptr<PartitionLog>& log);
  void want(std::weak_ptr<PartitionLog> log);
  // Finishes the spare in progress (its fallocate stops at the next chunk
  // if the partition closes) and drops the queue.
  void stop();
  // Waits until every partition queued before the call is done (tests).
  void drain();

 private:
  void run();

  std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable done_cv_;
  std::deque<std::weak_ptr<PartitionLog>> queue_;  // mu_
  uint64_t queued_ = 0;                            // mu_: ever queued
  uint64_t done_ = 0;                              // mu_: ever finished or dropped
  bool stopped_ = false;                           // mu_
  std::thread thread_;                             // started by the first want()
};

}  // namespace keel
