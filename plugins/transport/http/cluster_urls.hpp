// Where the brokers of the cluster view (keel_broker_api 2.3) are reached:
// the addresses GET /cluster lists and a 421 redirects to.
#pragma once

#include <cstdint>
#include <keel/broker.hpp>
#include <optional>
#include <string>

namespace keel::web {

// "host:port", with an IPv6 address in brackets.
std::string host_port(const std::string& host, int32_t port);
// "http://host:port".
std::string http_url(const std::string& host, int32_t port);
// The URL of broker `id`'s HTTP listener; nullopt when it advertises none.
std::optional<std::string> http_url_of(const sdk::Broker& broker, int32_t id);

}  // namespace keel::web
