// When to warn about an operation that is retried until it works again (the
// cluster thread's coordinator calls, a follower's fetches): the first
// failure of each outage at once, then at most one line per interval, by
// time. Not by count: an attempt can take a whole request timeout, so
// "every 50th" can mean minutes of silence. Unlike RateLimitedLog, the
// first failure of a new outage is never held back, however soon after the
// last outage it comes.
//
// Threads: owned by the one thread that retries; not thread-safe. Time is
// given by the caller (a monotonic clock in milliseconds).
#pragma once

#include <cstdint>

namespace keel {

class OutageLog {
 public:
  explicit OutageLog(int64_t interval_ms) : interval_ms_(interval_ms) {}

  // An attempt failed at `now_ms`: whether to warn now (the rest go to the
  // debug log).
  bool failed(int64_t now_ms) {
    ++failures_;
    if (failures_ == 1 || now_ms - last_warned_ms_ >= interval_ms_) {
      last_warned_ms_ = now_ms;
      return true;
    }
    return false;
  }
  // The failures so far in this outage (0: none).
  int64_t failures() const { return failures_; }
  // An attempt worked: returns how many failed before it in the outage that
  // just ended (0: there was none, nothing to report).
  int64_t recovered() {
    const int64_t n = failures_;
    failures_ = 0;
    return n;
  }

 private:
  const int64_t interval_ms_;
  int64_t failures_ = 0;
  int64_t last_warned_ms_ = 0;
};

}  // namespace keel
