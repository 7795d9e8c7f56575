// Rate-limited logging for what clients can trigger at will (malformed
// requests, refused and timed-out connections): at most `per_second` lines
// per second per transport. Lines beyond that are counted, and the first
// line of a later second says how many were suppressed, so a flood of bad
// clients costs a bounded amount of log and CPU.
//
// Threads: any; one mutex.
#pragma once

#include <cstdint>
#include <keel/plugin.hpp>
#include <mutex>
#include <string>

namespace keel::transport {

class LogLimiter {
 public:
  LogLimiter(const sdk::Host& host, int per_second) : host_(host), per_second_(per_second) {}

  void log(keel_log_level level, const std::string& message);
  void info(const std::string& m) { log(KEEL_LOG_INFO, m); }
  void warn(const std::string& m) { log(KEEL_LOG_WARN, m); }

 private:
  const sdk::Host host_;
  const int per_second_;
  std::mutex mu_;
  int64_t window_start_ns_ = 0;
  int lines_in_window_ = 0;
  int64_t suppressed_ = 0;
};

}  // namespace keel::transport
