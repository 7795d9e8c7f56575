#include "common/log_limiter.hpp"

namespace keel::transport {

void LogLimiter::log(keel_log_level level, const std::string& message) {
  int64_t suppressed = 0;
  {
    std::lock_guard lock(mu_);
    const int64_t now = host_.monotonic_ns();
    if (now - window_start_ns_ >= 1000000000) {
      window_start_ns_ = now;
      lines_in_window_ = 0;
    }
    if (lines_in_window_ >= per_second_) {
      ++suppressed_;
      return;
    }
    ++lines_in_window_;
    suppressed = suppressed_;
    suppressed_ = 0;
  }
  // Logged outside the lock: the host's logger may block on I/O.
  if (suppressed > 0) {
    host_.log(level, message + " (" + std::to_string(suppressed) +
                         " earlier messages about clients suppressed: more than " +
                         std::to_string(per_second_) + " per second)");
  } else {
    host_.log(level, message);
  }
}

}  // namespace keel::transport
