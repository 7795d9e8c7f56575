// Which connections of one event loop sent requests lately: a Produce may
// have its sync run on the loop's thread (KEEL_PRODUCE_SYNC_HERE) only
// while no other connection of the loop is active. A sync there holds the
// whole loop: other connections' requests could not even be read, let
// alone join the sync, so lone producers sharing a loop would lose the
// flusher's group commit and sync one after another.
//
// It also counts the loop's requests and connections, which the accepting
// thread reads to give a new connection to the least busy loop.
//
// Threads: dispatched() on the loop's own thread only (every connection of
// a loop runs on it), so it locks nothing; the counters are atomic.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace keel::kafka {

class LoopActivity {
 public:
  using Clock = std::chrono::steady_clock;
  // Another connection's request this recent makes the loop busy.
  static constexpr auto kQuiet = std::chrono::milliseconds(1);

  // Records a request from `conn` at `now`; true when no other connection
  // of the loop sent one within kQuiet before it.
  bool dispatched(const void* conn, Clock::time_point now) {
    requests.fetch_add(1, std::memory_order_relaxed);
    if (conn != last_) {
      // The last sender becomes the most recent other one.
      other_ = last_;
      other_at_ = last_at_;
      last_ = conn;
    }
    last_at_ = now;
    return other_ == nullptr || now - other_at_ >= kQuiet;
  }

  std::atomic<uint64_t> requests{0};    // ever dispatched on the loop
  std::atomic<int64_t> connections{0};  // open on the loop

 private:
  // The most recent sender, and the most recent one other than it.
  const void* last_ = nullptr;
  Clock::time_point last_at_{};
  const void* other_ = nullptr;
  Clock::time_point other_at_{};
};

}  // namespace keel::kafka
