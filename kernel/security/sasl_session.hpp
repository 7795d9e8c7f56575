// The server side of one SASL exchange, as the broker runs it for any
// transport (Kafka's SaslAuthenticate, HTTP Basic): PLAIN (RFC 4616) and
// SCRAM-SHA-256/512 (RFC 5802, 7677), all checked against the
// CredentialStore. A failed exchange stays failed.
//
// Threads: one caller at a time per session; the store is shared.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "security/credential_store.hpp"
#include "security/scram.hpp"

namespace keel::security {

class SaslSession {
 public:
  // Names as Kafka's clients send them, in the order the broker prefers.
  static const std::vector<std::string>& mechanisms();

  // Throws keel::Error UNSUPPORTED naming the mechanisms offered.
  SaslSession(const std::string& mechanism, const CredentialStore& store);

  struct Step {
    std::string challenge;  // the server's answer (PLAIN: none)
    bool done = false;      // authenticated: principal() is set
  };
  // Throws keel::Error: AUTHENTICATION (safe to tell the client) or
  // INVALID_ARGUMENT for a malformed token.
  Step step(std::string_view token);
  const std::string& mechanism() const { return mechanism_; }
  const std::string& principal() const { return principal_; }

 private:
  const std::string mechanism_;
  const CredentialStore& store_;
  std::unique_ptr<ScramServer> scram_;  // null for PLAIN
  bool failed_ = false;
  bool done_ = false;
  std::string principal_;
};

}  // namespace keel::security
