// What the HTTP handlers share: host, settings, broker API and the I/O
// context. Owned by HttpTransport; lives from create() to destroy().
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <keel/plugin.hpp>
#include <string>

#include "basic_auth.hpp"
#include "checked_broker.hpp"
#include "common/client_metrics.hpp"
#include "common/log_limiter.hpp"
#include "settings.hpp"

namespace keel::web {

class Services {
 public:
  Services(const sdk::Host& h, Settings s, const keel_broker_api* api)
      : host(h),
        settings(std::move(s)),
        broker(api),
        client_log(h, transport::kClientLogLinesPerSecond),
        basic_auth(api, settings.auth_cache_ttl_ms) {}

  const sdk::Host host;
  const Settings settings;
  CheckedBroker broker;
  // Lines about client misbehaviour go here (bounded per second).
  transport::LogLimiter client_log;
  // Used when settings.authentication is "basic".
  BasicAuth basic_auth;
  boost::asio::io_context io;
  // The port the listener is bound to: set by Server::start before the I/O
  // threads run, read by handlers.
  int32_t bound_port = 0;

  // Request metrics, under the same names as the Kafka transport's.
  void observe_request(const std::string& route, double seconds) const {
    const sdk::Labels labels = {{"transport", "http"}, {"api", route}};
    broker.counter_add("keel_requests_total", labels, 1);
    broker.histogram_observe("keel_request_seconds", labels, seconds);
  }

  void count_malformed() const { transport::count_malformed(broker.raw(), "http"); }
  void count_timed_out(const char* reason) const { transport::count_timed_out(broker.raw(), "http", reason); }
};

}  // namespace keel::web
