#include "observability/rate_limited_log.hpp"

#include <spdlog/spdlog.h>

#include "common/clock.hpp"
#include "common/error.hpp"

namespace keel {

RateLimitedLog::RateLimitedLog(int64_t interval_ns, std::function<int64_t()> now_ns)
    : interval_ns_(interval_ns), now_ns_(std::move(now_ns)) {}

bool RateLimitedLog::warn(const std::string& key, const std::string& message) {
  int64_t suppressed = 0;
  {
    std::lock_guard lock(mu_);
    KeyState& k = keys_[key];
    const int64_t now = now_ns_();
    if (k.logged && now - k.last_ns < interval_ns_) {
      ++k.suppressed;
      return false;
    }
    k.logged = true;
    k.last_ns = now;
    suppressed = k.suppressed;
    k.suppressed = 0;
  }
  // Outside the lock: the logger may block on I/O.
  if (suppressed > 0) {
    spdlog::warn("{} ({} more like it suppressed since the last one)", message, suppressed);
  } else {
    spdlog::warn("{}", message);
  }
  return true;
}

RateLimitedLog& plugin_failure_log() {
  static RateLimitedLog log(10'000'000'000LL, [] { return monotonic_ns(); });
  return log;
}

void log_plugin_failure(const char* kind, const std::string& strategy, const std::string& plugin,
                        const std::string& call, const std::string& where, int32_t status,
                        const char* message) {
  const std::string who = std::string(kind) + " '" + strategy + "' of plugin '" + plugin + "'";
  plugin_failure_log().warn(who,
                            where + ": " + who + ": " + call + " failed (" + status_name(status) +
                                "): " + (message != nullptr && *message != '\0' ? message : "no message"));
}

}  // namespace keel
