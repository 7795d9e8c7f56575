// The broker-wide budget of request bytes that transports hold in memory
// ([broker] queued_max_request_bytes, Kafka's queued.max.request.bytes),
// offered to them as reserve_request_bytes / release_request_bytes.
//
// Threads: any; the count is one atomic.
#pragma once

#include <atomic>
#include <cstdint>

namespace keel {

class RequestBudget {
 public:
  // cap <= 0: unbounded (reservations are still counted, for the metric).
  explicit RequestBudget(int64_t cap) : cap_(cap) {}

  // Grants when the bytes fit under the cap, or when nothing is reserved:
  // a request larger than the whole cap then proceeds alone instead of
  // never. So usage stays below max(cap, largest single request).
  bool reserve(int64_t bytes) {
    if (bytes <= 0) return true;
    int64_t used = used_.load(std::memory_order_relaxed);
    do {
      if (cap_ > 0 && used > 0 && used + bytes > cap_) return false;
    } while (!used_.compare_exchange_weak(used, used + bytes, std::memory_order_relaxed));
    return true;
  }

  void release(int64_t bytes) {
    if (bytes > 0) used_.fetch_sub(bytes, std::memory_order_relaxed);
  }

  int64_t used() const { return used_.load(std::memory_order_relaxed); }
  int64_t cap() const { return cap_; }

 private:
  const int64_t cap_;
  std::atomic<int64_t> used_{0};
};

}  // namespace keel
