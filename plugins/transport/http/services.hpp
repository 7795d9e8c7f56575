// What the HTTP handlers share: host, settings, broker API and the I/O
// context. Owned by HttpTransport; lives from create() to destroy().
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <keel/plugin.hpp>
#include <string>

#include "broker.hpp"
#include "settings.hpp"

namespace keel::web {

class Services {
 public:
  Services(const sdk::Host& h, Settings s, const keel_broker_api* api)
      : host(h), settings(std::move(s)), broker(api) {}

  const sdk::Host host;
  const Settings settings;
  Broker broker;

 private:
  // Before `io`: sessions destroyed with the context still count down.
  std::atomic<int64_t> open_connections_{0};

 public:
  boost::asio::io_context io;

  // Request metrics, under the same names as the Kafka transport's.
  void observe_request(const std::string& route, double seconds) const {
    const std::string labels = "transport=\"http\",api=\"" + route + "\"";
    broker.counter_add("keel_requests_total", labels, 1);
    broker.histogram_observe("keel_request_seconds", labels, seconds);
  }

  void connection_opened() { publish_connections(open_connections_.fetch_add(1) + 1); }
  void connection_closed() { publish_connections(open_connections_.fetch_sub(1) - 1); }

 private:
  void publish_connections(int64_t n) const {
    broker.gauge_set("keel_open_connections", "transport=\"http\"", static_cast<double>(n));
  }
};

}  // namespace keel::web
