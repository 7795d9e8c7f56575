#include "common/connection_limits.hpp"

#include <sys/resource.h>

#include <algorithm>

namespace keel::transport {

int64_t ConnectionLimits::default_max_connections() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return 10000;
  return std::clamp<int64_t>(static_cast<int64_t>(rl.rlim_cur) / 4, 1, 10000);
}

ConnectionLimits ConnectionLimits::read(const sdk::Config& config, const std::string& transport) {
  ConnectionLimits l;
  l.max_connections = config.get_int("max_connections", default_max_connections());
  l.idle_timeout_ms = config.get_int("idle_timeout_ms", l.idle_timeout_ms);
  l.request_timeout_ms = config.get_int("request_timeout_ms", l.request_timeout_ms);
  auto check = [&](const char* key, int64_t value, int64_t min) {
    if (value < min) {
      throw sdk::Error(KEEL_ERR_INVALID_ARGUMENT, "transport '" + transport + "': " + key + " must be >= " +
                                                      std::to_string(min) + ", got " + std::to_string(value));
    }
  };
  check("max_connections", l.max_connections, 1);
  check("idle_timeout_ms", l.idle_timeout_ms, 1);
  check("request_timeout_ms", l.request_timeout_ms, 1);
  return l;
}

}  // namespace keel::transport
