#include "coordinator/etcd/etcd_settings.hpp"

#include "coordinator/etcd/etcd_http.hpp"

namespace keel::coordinator {

namespace {

keel::sdk::Error bad(const std::string& what) {
  return keel::sdk::Error(KEEL_ERR_INVALID_ARGUMENT, "coordinator etcd: " + what);
}

std::string trimmed(const std::string& s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t") - first + 1);
}

}  // namespace

EtcdSettings EtcdSettings::read(const keel::sdk::Config& config) {
  EtcdSettings s;
  const std::string endpoints = config.get_string("endpoints", "127.0.0.1:2379");
  s.prefix = config.get_string("prefix", s.prefix);
  s.session_ttl_ms = config.get_int("session_ttl_ms", s.session_ttl_ms);
  s.request_timeout_ms = config.get_int("request_timeout_ms", s.request_timeout_ms);

  s.endpoints.clear();
  size_t start = 0;
  while (start <= endpoints.size()) {
    const size_t comma = std::min(endpoints.find(',', start), endpoints.size());
    const std::string one = trimmed(endpoints.substr(start, comma - start));
    if (!one.empty()) {
      if (!keel::etcd::parse_endpoint(one)) {
        throw bad("endpoints: \"" + one + "\" is not host:port (e.g. \"127.0.0.1:2379,10.0.0.2:2379\")");
      }
      s.endpoints.push_back(one);
    }
    start = comma + 1;
  }
  if (s.endpoints.empty())
    throw bad("endpoints is empty; give etcd's client URLs as host:port, comma-separated");
  if (s.prefix.empty() || s.prefix.back() != '/') {
    throw bad("prefix \"" + s.prefix +
              "\" must end with '/' (e.g. \"/keel/prod/\"), so that no other namespace's keys start with it");
  }
  if (s.session_ttl_ms <= 0) throw bad("session_ttl_ms must be > 0, got " + std::to_string(s.session_ttl_ms));
  if (s.request_timeout_ms <= 0) {
    throw bad("request_timeout_ms must be > 0, got " + std::to_string(s.request_timeout_ms));
  }
  return s;
}

std::string EtcdSettings::endpoint_list() const {
  std::string all;
  for (const auto& e : endpoints) all += (all.empty() ? "" : ", ") + e;
  return all;
}

}  // namespace keel::coordinator
