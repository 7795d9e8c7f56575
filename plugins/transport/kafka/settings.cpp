#include "settings.hpp"

#include <algorithm>
#include <cstdint>

namespace keel::kafka {

Settings Settings::read(const sdk::Config& config) {
  Settings s;
  const std::string listen = config.get_string("listen", "127.0.0.1:9092");
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    throw sdk::Error(
        KEEL_ERR_INVALID_ARGUMENT,
        "transport 'kafka': listen must be host:port (e.g. 127.0.0.1:9092), got '" + listen + "'");
  }
  s.listen_host = listen.substr(0, colon);
  if (s.listen_host.size() > 2 && s.listen_host.front() == '[' && s.listen_host.back() == ']') {
    s.listen_host = s.listen_host.substr(1, s.listen_host.size() - 2);  // [::1]
  }
  int port = -1;
  try {
    size_t used = 0;
    port = std::stoi(listen.substr(colon + 1), &used);
    if (used != listen.size() - colon - 1) port = -1;
  } catch (...) {
    port = -1;
  }
  if (port < 0 || port > 65535) {
    throw sdk::Error(KEEL_ERR_INVALID_ARGUMENT, "transport 'kafka': listen port must be 0..65535, got '" +
                                                    listen.substr(colon + 1) + "'");
  }
  s.listen_port = static_cast<uint16_t>(port);
  s.advertised_host = config.get_string(
      "advertised_host", s.listen_host == "0.0.0.0" || s.listen_host == "::" ? "127.0.0.1" : s.listen_host);
  s.advertised_port = static_cast<int32_t>(config.get_int("advertised_port", -1));
  constexpr int64_t kUnset = INT64_MIN;
  const int64_t node_id = config.get_int("node_id", kUnset);
  s.node_id_set = node_id != kUnset;
  s.node_id = s.node_id_set ? static_cast<int32_t>(node_id) : 0;
  s.threads = static_cast<int>(config.get_int("threads", 2));
  s.max_request_bytes = config.get_int("max_request_bytes", s.max_request_bytes);
  s.max_in_flight = static_cast<int32_t>(config.get_int("max_in_flight", s.max_in_flight));
  s.group_min_session_timeout_ms =
      config.get_int("group_min_session_timeout_ms", s.group_min_session_timeout_ms);
  s.group_max_session_timeout_ms =
      config.get_int("group_max_session_timeout_ms", s.group_max_session_timeout_ms);
  s.group_initial_rebalance_delay_ms =
      config.get_int("group_initial_rebalance_delay_ms", s.group_initial_rebalance_delay_ms);
  s.limits = transport::ConnectionLimits::read(config, "kafka");
  if (s.threads < 1 || s.threads > 256) {
    throw sdk::Error(KEEL_ERR_INVALID_ARGUMENT, "transport 'kafka': threads must be 1..256");
  }
  if (s.max_request_bytes < 1024) {
    throw sdk::Error(KEEL_ERR_INVALID_ARGUMENT, "transport 'kafka': max_request_bytes must be >= 1024");
  }
  if (s.max_in_flight < 1)
    throw sdk::Error(KEEL_ERR_INVALID_ARGUMENT, "transport 'kafka': max_in_flight must be >= 1");
  if (s.node_id < 0) throw sdk::Error(KEEL_ERR_INVALID_ARGUMENT, "transport 'kafka': node_id must be >= 0");
  s.security_protocol = config.get_string("security_protocol", s.security_protocol);
  if (s.security_protocol != "PLAINTEXT" && !s.sasl() && !s.tls()) {
    throw sdk::Error(
        KEEL_ERR_INVALID_ARGUMENT,
        "transport 'kafka': security_protocol must be PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL, got '" +
            s.security_protocol + "'");
  }
  if (s.tls()) s.tls_settings = transport::TlsSettings::read(config, "[transports.kafka]");
  const std::string mechanisms = config.get_string("sasl_mechanisms", "");
  if (!mechanisms.empty()) {
    s.sasl_mechanisms.clear();
    size_t from = 0;
    while (from <= mechanisms.size()) {
      const size_t comma = std::min(mechanisms.find(',', from), mechanisms.size());
      std::string m = mechanisms.substr(from, comma - from);
      m.erase(0, m.find_first_not_of(' '));
      m.erase(m.find_last_not_of(' ') + 1);
      if (m != "PLAIN" && m != "SCRAM-SHA-256" && m != "SCRAM-SHA-512") {
        throw sdk::Error(KEEL_ERR_INVALID_ARGUMENT,
                         "transport 'kafka': sasl_mechanisms: unknown mechanism '" + m +
                             "'; use a comma-separated list of SCRAM-SHA-512, "
                             "SCRAM-SHA-256 and PLAIN");
      }
      s.sasl_mechanisms.push_back(m);
      from = comma + 1;
    }
  }
  return s;
}

}  // namespace keel::kafka
