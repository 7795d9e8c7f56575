// Rate-limited warnings for failures that can repeat on every request, such
// as a plugin strategy whose partition/select/lookup keeps failing: at most
// one line per key (e.g. one strategy) per interval. Lines in between are
// counted, and the next line that gets through says how many were
// suppressed, so a broken plugin costs a bounded amount of log.
//
// Threads: any; one mutex around the per-key state, logging outside it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>

namespace keel {

class RateLimitedLog {
 public:
  // `now_ns` is a monotonic clock (tests inject their own).
  RateLimitedLog(int64_t interval_ns, std::function<int64_t()> now_ns);

  // Logs `message` as a warning unless a line for `key` went out less than
  // the interval ago. Returns whether it was logged.
  bool warn(const std::string& key, const std::string& message);

 private:
  struct KeyState {
    int64_t last_ns = 0;
    bool logged = false;
    int64_t suppressed = 0;
  };
  const int64_t interval_ns_;
  const std::function<int64_t()> now_ns_;
  std::mutex mu_;
  std::map<std::string, KeyState> keys_;
};

// The broker-wide instance for failing plugin calls: one line per strategy
// per 10 s.
RateLimitedLog& plugin_failure_log();

// Key and text for a plugin call that failed with `status`: "<kind>
// '<strategy>' of plugin '<plugin>'" as the key, and the line "<where>:
// <kind> '<strategy>' (plugin '<plugin>') <call> failed (<status>): <message>".
void log_plugin_failure(const char* kind, const std::string& strategy, const std::string& plugin,
                        const std::string& call, const std::string& where, int32_t status,
                        const char* message);

}  // namespace keel
