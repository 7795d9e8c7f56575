#include "settings.hpp"

namespace keel::web {
namespace {

[[noreturn]] void invalid(const std::string& what) {
  throw sdk::Error(KEEL_ERR_INVALID_ARGUMENT, "transport 'http': " + what);
}

uint16_t parse_port(const std::string& text) {
  int port = -1;
  try {
    size_t used = 0;
    port = std::stoi(text, &used);
    if (used != text.size()) port = -1;
  } catch (...) {
    port = -1;
  }
  if (port < 0 || port > 65535) invalid("listen port must be 0..65535, got '" + text + "'");
  return static_cast<uint16_t>(port);
}

}  // namespace

Settings Settings::read(const sdk::Config& config) {
  Settings s;
  const std::string listen = config.get_string("listen", "127.0.0.1:8080");
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    invalid("listen must be host:port (e.g. 127.0.0.1:8080), got '" + listen + "'");
  }
  s.listen_host = listen.substr(0, colon);
  if (s.listen_host.size() > 2 && s.listen_host.front() == '[' && s.listen_host.back() == ']') {
    s.listen_host = s.listen_host.substr(1, s.listen_host.size() - 2);  // [::1]
  }
  s.listen_port = parse_port(listen.substr(colon + 1));
  s.threads = static_cast<int>(config.get_int("threads", s.threads));
  s.max_body_bytes = config.get_int("max_body_bytes", s.max_body_bytes);
  s.max_long_poll_ms = config.get_int("max_long_poll_ms", s.max_long_poll_ms);
  s.limits = transport::ConnectionLimits::read(config, "http");
  s.header_timeout_ms = config.get_int("header_timeout_ms", s.header_timeout_ms);
  s.tls = config.get_bool("tls", s.tls);
  if (s.tls) s.tls_settings = transport::TlsSettings::read(config, "[transports.http]");
  s.authentication = config.get_string("authentication", s.authentication);
  if (s.authentication != "none" && s.authentication != "basic") {
    invalid("authentication must be \"none\" or \"basic\", got \"" + s.authentication + "\"");
  }
  if (s.authentication == "basic") {
    s.metrics_public = config.get_bool("metrics_public", s.metrics_public);
    s.auth_cache_ttl_ms = config.get_int("auth_cache_ttl_ms", s.auth_cache_ttl_ms);
    if (s.auth_cache_ttl_ms < 0 || s.auth_cache_ttl_ms > 3600000) {
      invalid("auth_cache_ttl_ms must be 0..3600000, got " + std::to_string(s.auth_cache_ttl_ms));
    }
  }
  if (s.header_timeout_ms < 1)
    invalid("header_timeout_ms must be >= 1, got " + std::to_string(s.header_timeout_ms));
  if (s.threads < 1 || s.threads > 256) invalid("threads must be 1..256, got " + std::to_string(s.threads));
  if (s.max_body_bytes < 1024) {
    invalid("max_body_bytes must be >= 1024, got " + std::to_string(s.max_body_bytes));
  }
  if (s.max_long_poll_ms < 0 || s.max_long_poll_ms > 3600000) {
    invalid("max_long_poll_ms must be 0..3600000, got " + std::to_string(s.max_long_poll_ms));
  }
  return s;
}

}  // namespace keel::web
