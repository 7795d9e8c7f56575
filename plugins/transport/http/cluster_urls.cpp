#include "cluster_urls.hpp"

namespace keel::web {

std::string host_port(const std::string& host, int32_t port) {
  const bool ipv6 = host.find(':') != std::string::npos;
  return (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::string http_url(const std::string& host, int32_t port) { return "http://" + host_port(host, port); }

std::optional<std::string> http_url_of(const sdk::Broker& broker, int32_t id) {
  for (const auto& b : broker.brokers("http")) {
    if (b.id == id) return http_url(b.host, b.port);
  }
  return std::nullopt;
}

}  // namespace keel::web
