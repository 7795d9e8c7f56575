// Settings of the Kafka transport, read from [transports.kafka].
#pragma once

#include <cstdint>
#include <keel/plugin.hpp>
#include <string>
#include <vector>

#include "common/connection_limits.hpp"
#include "common/tls_context.hpp"

namespace keel::kafka {

// One listener of the transport (Kafka's `listeners`): where it binds,
// what it is advertised as, and its security protocol. Without a
// `listeners` key the transport has one, from listen, advertised_host,
// advertised_port and security_protocol.
struct ListenerSpec {
  std::string security_protocol = "PLAINTEXT";  // also its name: one listener per protocol
  std::string host = "127.0.0.1";
  uint16_t port = 9092;  // 0 picks a free port (logged at start)
  std::string advertised_host;
  int32_t advertised_port = -1;  // default: the bound port
  // The name it is advertised under in the cluster view, so that a client
  // that came in through it is told the other brokers' same listener:
  // "kafka" for the first listener, "kafka-<protocol>" for the others.
  std::string cluster_name = "kafka";
  bool sasl() const { return security_protocol == "SASL_PLAINTEXT" || security_protocol == "SASL_SSL"; }
  bool tls() const { return security_protocol == "SSL" || security_protocol == "SASL_SSL"; }
};

struct Settings {
  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 9092;   // 0 picks a free port (logged at start)
  std::string advertised_host;   // default: listen_host (127.0.0.1 for 0.0.0.0)
  int32_t advertised_port = -1;  // default: the bound port
  // The id Kafka clients are told on a broker without a cluster view (ABI
  // < 2.3); on a 2.3 broker the cluster's broker id wins (Services::node_id).
  int32_t node_id = 0;
  bool node_id_set = false;  // given in the config file, not the default
  int threads = 2;
  int64_t max_request_bytes = 104857600;  // Kafka's socket.request.max.bytes
  int32_t max_in_flight = 64;             // per connection, before reading pauses
  int64_t group_min_session_timeout_ms = 6000;
  int64_t group_max_session_timeout_ms = 1800000;
  int64_t group_initial_rebalance_delay_ms = 0;
  transport::ConnectionLimits limits;  // max_connections, idle/request timeouts
  // Kafka's names: PLAINTEXT, SSL (TLS), SASL_PLAINTEXT and SASL_SSL (every
  // connection authenticates with SaslHandshake/SaslAuthenticate before
  // any other request but ApiVersions; over TLS for SASL_SSL).
  std::string security_protocol = "PLAINTEXT";
  transport::TlsSettings tls_settings;  // read for SSL and SASL_SSL
  // Offered on a SASL listener, from the broker's own (Kafka's
  // sasl.enabled.mechanisms); a comma-separated list in the config.
  std::vector<std::string> sasl_mechanisms = {"SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"};
  // Every listener; the first is the one listen_host/listen_port,
  // advertised_* and security_protocol above describe.
  std::vector<ListenerSpec> listeners;
  bool any_sasl() const;
  bool any_tls() const;

  static Settings read(const sdk::Config& config);
};

}  // namespace keel::kafka
