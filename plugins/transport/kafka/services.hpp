// What the Kafka handlers share: the broker API, the host, the settings,
// the I/O context and the group coordinator. (Idempotent producer state is
// the kernel's.)
// Owned by KafkaTransport; lives from create() to destroy().
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <keel/broker.hpp>
#include <keel/plugin.hpp>
#include <memory>

#include "common/log_limiter.hpp"
#include "settings.hpp"

namespace keel::kafka {

class GroupCoordinator;

class Services {
 public:
  Services(const sdk::Host& host, Settings settings, const keel_broker_api* broker);
  ~Services();

  const sdk::Host host;
  const Settings settings;
  sdk::Broker broker;
  boost::asio::io_context io;
  // The port clients are told to connect to, per listener (settings.listeners),
  // set once bound; advertised_port is the first listener's.
  std::vector<int32_t> advertised_ports;
  int32_t advertised_port = 0;

  // The id this broker goes by in Kafka answers: the cluster's broker id
  // (keel_broker_api 2.3 cluster_info), else the node_id setting.
  int32_t node_id() const;

  GroupCoordinator& groups() { return *groups_; }

  // Request metrics, rendered by whichever transport serves /metrics.
  void observe_request(int16_t api_key, double seconds);
  // A connection closed for a malformed request (keel_malformed_requests_total)
  // or a timeout (keel_connections_timed_out_total{reason="idle"|"request"}).
  void count_malformed() const;
  void count_timed_out(const char* reason) const;

  // Lines about client misbehaviour go here (bounded per second).
  transport::LogLimiter client_log;

 private:
  std::unique_ptr<GroupCoordinator> groups_;
};

}  // namespace keel::kafka
