#include "settings.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <tuple>

namespace keel::kafka {

namespace {

const char* const kProtocols[] = {"PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"};

bool known_protocol(const std::string& p) {
  return std::find(std::begin(kProtocols), std::end(kProtocols), p) != std::end(kProtocols);
}

// "host:port" ("[::1]:9092" for IPv6) from key `key`.
std::pair<std::string, uint16_t> host_port(const std::string& text, const std::string& key) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    throw sdk::Error(
        KEEL_ERR_INVALID_ARGUMENT,
        "transport 'kafka': " + key + " must be host:port (e.g. 127.0.0.1:9092), got '" + text + "'");
  }
  std::string host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  int port = -1;
  try {
    size_t used = 0;
    port = std::stoi(text.substr(colon + 1), &used);
    if (used != text.size() - colon - 1) port = -1;
  } catch (...) {
    port = -1;
  }
  if (port < 0 || port > 65535) {
    throw sdk::Error(
        KEEL_ERR_INVALID_ARGUMENT,
        "transport 'kafka': " + key + " port must be 0..65535, got '" + text.substr(colon + 1) + "'");
  }
  return {host, static_cast<uint16_t>(port)};
}

std::string default_advertised(const std::string& host) {
  return host == "0.0.0.0" || host == "::" ? "127.0.0.1" : host;
}

// Kafka's "PROTOCOL://host:port,PROTOCOL://host:port", as a map.
std::vector<std::pair<std::string, std::string>> listener_list(const std::string& text,
                                                               const std::string& key) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t from = 0;
  while (from < text.size()) {
    const size_t comma = std::min(text.find(',', from), text.size());
    std::string item = text.substr(from, comma - from);
    item.erase(0, item.find_first_not_of(' '));
    item.erase(item.find_last_not_of(' ') + 1);
    const size_t sep = item.find("://");
    const std::string protocol = sep == std::string::npos ? "" : item.substr(0, sep);
    if (!known_protocol(protocol)) {
      throw sdk::Error(
          KEEL_ERR_INVALID_ARGUMENT,
          "transport 'kafka': " + key + ": '" + item +
              "' must be PROTOCOL://host:port with PROTOCOL one of PLAINTEXT, SSL, SASL_PLAINTEXT, "
              "SASL_SSL (e.g. \"PLAINTEXT://127.0.0.1:9092,SASL_SSL://0.0.0.0:9093\")");
    }
    for (const auto& [p, _] : out) {
      if (p == protocol) {
        throw sdk::Error(KEEL_ERR_INVALID_ARGUMENT, "transport 'kafka': " + key + " names " + protocol +
                                                        " twice; one listener per security protocol");
      }
    }
    out.emplace_back(protocol, item.substr(sep + 3));
    from = comma + 1;
  }
  return out;
}

}  // namespace

bool Settings::any_sasl() const {
  return std::any_of(listeners.begin(), listeners.end(), [](const ListenerSpec& l) { return l.sasl(); });
}

bool Settings::any_tls() const {
  return std::any_of(listeners.begin(), listeners.end(), [](const ListenerSpec& l) { return l.tls(); });
}

Settings Settings::read(const sdk::Config& config) {
  Settings s;
  const std::string listeners = config.get_string("listeners", "");
  std::string listen = config.get_string("listen", "");
  if (!listeners.empty() && !listen.empty()) {
    throw sdk::Error(KEEL_ERR_INVALID_ARGUMENT,
                     "transport 'kafka': set either listen (one listener) or listeners (several), not both");
  }
  if (listen.empty()) listen = "127.0.0.1:9092";
  std::tie(s.listen_host, s.listen_port) = host_port(listen, "listen");
  s.advertised_host = config.get_string("advertised_host", default_advertised(s.listen_host));
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
  if (!known_protocol(s.security_protocol)) {
    throw sdk::Error(
        KEEL_ERR_INVALID_ARGUMENT,
        "transport 'kafka': security_protocol must be PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL, got '" +
            s.security_protocol + "'");
  }
  if (listeners.empty()) {
    ListenerSpec l;
    l.security_protocol = s.security_protocol;
    l.host = s.listen_host;
    l.port = s.listen_port;
    l.advertised_host = s.advertised_host;
    l.advertised_port = s.advertised_port;
    s.listeners.push_back(l);
  } else {
    if (config.get_string("security_protocol", "").size() > 0 ||
        config.get_int("advertised_port", -1) != -1 || config.get_string("advertised_host", "").size() > 0) {
      throw sdk::Error(
          KEEL_ERR_INVALID_ARGUMENT,
          "transport 'kafka': with listeners, name each listener's protocol there and its "
          "advertised address in advertised_listeners, not in security_protocol or advertised_*");
    }
    const auto advertised =
        listener_list(config.get_string("advertised_listeners", ""), "advertised_listeners");
    for (const auto& [protocol, address] : listener_list(listeners, "listeners")) {
      ListenerSpec l;
      l.security_protocol = protocol;
      std::tie(l.host, l.port) = host_port(address, "listeners");
      l.advertised_host = default_advertised(l.host);
      for (const auto& [ap, aaddress] : advertised) {
        if (ap != protocol) continue;
        const auto [host, port] = host_port(aaddress, "advertised_listeners");
        l.advertised_host = host;
        l.advertised_port = port;
      }
      if (!s.listeners.empty()) {
        l.cluster_name = "kafka-" + protocol;
        std::transform(l.cluster_name.begin(), l.cluster_name.end(), l.cluster_name.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      }
      s.listeners.push_back(l);
    }
    for (const auto& entry : advertised) {
      const std::string& ap = entry.first;  // not a structured binding: clang 14 cannot capture those
      if (std::none_of(s.listeners.begin(), s.listeners.end(),
                       [&ap](const ListenerSpec& l) { return l.security_protocol == ap; })) {
        throw sdk::Error(KEEL_ERR_INVALID_ARGUMENT, "transport 'kafka': advertised_listeners names " + ap +
                                                        ", which listeners does not have");
      }
    }
    if (s.listeners.empty()) {
      throw sdk::Error(KEEL_ERR_INVALID_ARGUMENT, "transport 'kafka': listeners is empty");
    }
    const ListenerSpec& first = s.listeners.front();
    s.security_protocol = first.security_protocol;
    s.listen_host = first.host;
    s.listen_port = first.port;
    s.advertised_host = first.advertised_host;
    s.advertised_port = first.advertised_port;
  }
  if (s.any_tls()) s.tls_settings = transport::TlsSettings::read(config, "[transports.kafka]");
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
