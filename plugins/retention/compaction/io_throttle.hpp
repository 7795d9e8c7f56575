// Keeps the cleaner's disk traffic under a byte rate by sleeping the
// maintenance thread, in short steps so that a shutdown is noticed quickly.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <thread>
#include <utility>

namespace keel::compaction {

class IoThrottle {
 public:
  // bytes_per_second <= 0: unlimited. `stopping` is polled while waiting.
  IoThrottle(int64_t bytes_per_second, std::function<bool()> stopping)
      : rate_(bytes_per_second), stopping_(std::move(stopping)), start_(Clock::now()) {}

  // Accounts for `bytes` of I/O; returns false if the broker is stopping.
  bool consume(int64_t bytes) {
    done_ += bytes;
    if (rate_ > 0) {
      // The time the bytes so far should have taken at the rate.
      const auto due = start_ + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(
                                    static_cast<double>(done_) / static_cast<double>(rate_)));
      while (Clock::now() < due) {
        if (stopping_()) return false;
        std::this_thread::sleep_for(
            std::min<Clock::duration>(due - Clock::now(), std::chrono::milliseconds(50)));
      }
    }
    return !stopping_();
  }

 private:
  using Clock = std::chrono::steady_clock;
  int64_t rate_;
  std::function<bool()> stopping_;
  Clock::time_point start_;
  int64_t done_ = 0;
};

}  // namespace keel::compaction
