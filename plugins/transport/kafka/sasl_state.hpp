// Where one connection stands in Kafka's SASL authentication (KIP-43,
// KIP-152), on a SASL listener:
//   handshake      only ApiVersions and SaslHandshake are served
//   authenticate   after SaslHandshake v1: SaslAuthenticate carries tokens
//   raw_token      after SaslHandshake v0: the next frames are bare tokens
//                  (size + bytes, no request header), as kafka-python sends
//   authenticated  every request is served; principal is the user
//   failed         the exchange failed: the connection closes
// On a PLAINTEXT listener the connection starts authenticated, as user
// "ANONYMOUS" (Kafka's principal there), and SASL requests get
// ILLEGAL_SASL_STATE.
//
// Threads: the connection's strand only.
#pragma once

#include <keel/broker.hpp>
#include <memory>
#include <string>

namespace keel::kafka {

struct SaslState {
  enum class Phase { handshake, authenticate, raw_token, authenticated, failed };
  Phase phase = Phase::authenticated;
  bool required = false;  // a SASL listener
  std::string mechanism;
  std::unique_ptr<sdk::Broker::SaslSession> session;
  std::string principal = "ANONYMOUS";
  std::string peer;                    // the client's address, for logs
  std::string listener = "PLAINTEXT";  // the listener's security protocol, for logs
  // Who the authorizer is asked about: "User:<principal>" once known;
  // "User:<subject>" from a verified client certificate on an SSL
  // listener (a SASL login takes precedence); "User:ANONYMOUS" otherwise.
  sdk::Broker::AuthzSubject subject;

  bool authenticated() const { return phase == Phase::authenticated; }
  // The exchange succeeded for `user`.
  void authenticated_as(const std::string& user) {
    phase = Phase::authenticated;
    principal = user;
    subject.principal = "User:" + user;
    session.reset();
  }
};

}  // namespace keel::kafka
