// Counters of what clients did wrong, under the same names for every
// transport: keel_malformed_requests_total{transport} and
// keel_connections_timed_out_total{transport,reason="idle"|"header"|"request"}.
#pragma once

#include <keel/plugin.h>

#include <string>

namespace keel::transport {

inline void count_malformed(const keel_broker_api* api, const std::string& transport) {
  const std::string labels = "transport=\"" + transport + "\"";
  api->counter_add(api->ctx, "keel_malformed_requests_total", labels.c_str(), 1);
}

inline void count_timed_out(const keel_broker_api* api, const std::string& transport, const char* reason) {
  const std::string labels = "transport=\"" + transport + "\",reason=\"" + reason + "\"";
  api->counter_add(api->ctx, "keel_connections_timed_out_total", labels.c_str(), 1);
}

}  // namespace keel::transport
