// HTTP Basic authentication against the broker's users (the same SCRAM
// credentials SASL uses: the broker checks user and password as a PLAIN
// exchange). [transports.http] authentication = "basic" turns it on; every
// route but /health and /ready (and /metrics when metrics_public) then needs
// `Authorization: Basic base64(user:password)`, else 401 with
// `WWW-Authenticate: Basic realm="keel"`.
//
// A password check costs the broker one PBKDF2 (milliseconds of CPU), and
// HTTP clients often open a connection per request, so an accepted
// Authorization header is remembered for `cache_ttl_ms` by its SHA-256 (never
// the header itself): a changed or deleted user's header keeps working for at
// most that long. Failed checks are never remembered.
//
// Threads: check() from any connection's strand; a mutex guards the cache.
#pragma once

#include <chrono>
#include <keel/broker.hpp>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace keel::web {

class BasicAuth {
 public:
  BasicAuth(const keel_broker_api* api, int64_t cache_ttl_ms) : broker_(api), ttl_ms_(cache_ttl_ms) {}

  struct Verdict {
    bool ok = false;
    std::string user;     // the principal when ok; the claimed user otherwise ("" if none)
    std::string message;  // why not, safe to send to the client
  };
  // `header`: the request's Authorization value ("" when absent).
  Verdict check(std::string_view header);

 private:
  sdk::Broker broker_;
  const int64_t ttl_ms_;
  std::mutex mu_;
  // SHA-256 of an accepted header -> (user, when it stops counting)
  std::map<std::string, std::pair<std::string, std::chrono::steady_clock::time_point>> accepted_;
};

}  // namespace keel::web
