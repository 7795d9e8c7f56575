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

// The clock and sleep a throttle uses; tests replace them.
struct ThrottleTime {
  using Clock = std::chrono::steady_clock;
  std::function<Clock::time_point()> now = [] { return Clock::now(); };
  std::function<void(Clock::duration)> sleep = [](Clock::duration d) { std::this_thread::sleep_for(d); };
};

class IoThrottle {
 public:
  using Clock = ThrottleTime::Clock;
  using Time = ThrottleTime;

  // bytes_per_second <= 0: unlimited. `stopping` is polled while waiting.
  IoThrottle(int64_t bytes_per_second, std::function<bool()> stopping, Time time = {})
      : rate_(bytes_per_second),
        stopping_(std::move(stopping)),
        time_(std::move(time)),
        start_(time_.now()) {}

  // Accounts for `bytes` of I/O, waiting until the rate allows them;
  // returns false (at once) if the broker is stopping.
  bool consume(int64_t bytes) {
    done_ += bytes;
    if (rate_ > 0) {
      // The time the bytes so far should have taken at the rate.
      const auto due = start_ + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(
                                    static_cast<double>(done_) / static_cast<double>(rate_)));
      for (auto now = time_.now(); now < due; now = time_.now()) {
        if (stopping_()) return false;
        time_.sleep(std::min<Clock::duration>(due - now, std::chrono::milliseconds(50)));
      }
    }
    return !stopping_();
  }

 private:
  int64_t rate_;
  std::function<bool()> stopping_;
  Time time_;
  Clock::time_point start_;
  int64_t done_ = 0;
};

}  // namespace keel::compaction
