// What the Kafka handlers share: the broker API, the host, the settings,
// the I/O context, the group coordinator and the idempotent-producer state.
// Owned by KafkaTransport; lives from create() to destroy().
#pragma once

#include <keel/plugin.hpp>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <memory>

#include "broker_client.hpp"
#include "settings.hpp"

namespace keel::kafka {

class GroupCoordinator;
class ProducerStateTable;

class Services {
 public:
  Services(const sdk::Host& host, Settings settings, const keel_broker_api* broker);
  ~Services();

  const sdk::Host host;
  const Settings settings;
  BrokerClient broker;
  boost::asio::io_context io;
  // The port clients are told to connect to (set once bound).
  int32_t advertised_port = 0;

  GroupCoordinator& groups() { return *groups_; }
  ProducerStateTable& producers() { return *producers_; }

  // Request metrics, rendered by whichever transport serves /metrics.
  void observe_request(int16_t api_key, double seconds);
  void connection_opened() { publish_connections(open_connections_.fetch_add(1) + 1); }
  void connection_closed() { publish_connections(open_connections_.fetch_sub(1) - 1); }

 private:
  std::unique_ptr<GroupCoordinator> groups_;
  std::unique_ptr<ProducerStateTable> producers_;
  std::atomic<int64_t> open_connections_{0};
  void publish_connections(int64_t n) const;
};

}  // namespace keel::kafka
