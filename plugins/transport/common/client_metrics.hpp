// Counters of what clients did wrong, under the same names for every
// transport: keel_malformed_requests_total{transport} and
// keel_connections_timed_out_total{transport,reason="idle"|"header"|"request"}.
#pragma once

#include <keel/broker.hpp>
#include <string>

namespace keel::transport {

inline void count_malformed(const keel_broker_api* api, const std::string& transport) {
  sdk::Broker(api).counter_add("keel_malformed_requests_total", {{"transport", transport}}, 1);
}

inline void count_timed_out(const keel_broker_api* api, const std::string& transport, const char* reason) {
  sdk::Broker(api).counter_add("keel_connections_timed_out_total",
                               {{"transport", transport}, {"reason", reason}}, 1);
}

}  // namespace keel::transport
