// SaslAuthenticate (key 36), v0-2 (flexible from 2): one SASL token of the
// exchange SaslHandshake v1 began, run by the broker (sdk::Broker::
// SaslSession). A failed exchange answers SASL_AUTHENTICATION_FAILED (58)
// with the broker's message (it never says whether the user or the
// password was wrong) and the connection closes after the answer, as
// Kafka's does. ILLEGAL_SASL_STATE (34) outside an exchange.
#include "../protocol/errors.hpp"
#include "../sasl_state.hpp"
#include "../services.hpp"
#include "handlers.hpp"

namespace keel::kafka {

void handle_sasl_authenticate(Services& services, Request& req, const Responder& respond) {
  const bool flex = req.flexible;
  const std::string token(req.body.bytes(flex));
  if (flex) req.body.tagged_fields();
  SaslState none;  // no connection behind the request: a PLAINTEXT one
  SaslState& sasl = req.sasl != nullptr ? *req.sasl : none;

  ErrorCode error = ErrorCode::kNone;
  std::optional<std::string> message;
  std::string challenge;
  if (sasl.phase != SaslState::Phase::authenticate || !sasl.session) {
    error = ErrorCode::kIllegalSaslState;
    message = "SaslAuthenticate is only valid after a SaslHandshake v1 on a SASL listener";
  } else {
    auto step = sasl.session->step(token);
    if (step.status == KEEL_OK) {
      challenge = std::move(step.challenge);
      if (step.done) sasl.authenticated_as(step.principal);
    } else {
      error = ErrorCode::kSaslAuthenticationFailed;
      message = step.message;
      sasl.phase = SaslState::Phase::failed;
      sasl.session.reset();
      services.client_log.warn("SASL " + sasl.mechanism + " authentication failed for " + sasl.peer +
                               " on the " + sasl.listener + " listener: " + step.message);
    }
  }
  Writer w;
  w.int16(code(error));
  w.nullable_string(message, flex);
  w.bytes(challenge, flex);
  if (req.api_version >= 1) w.int64(0);  // session_lifetime_ms: no re-authentication (KIP-368)
  w.tagged_fields(flex);
  respond.send(std::move(w));
}

}  // namespace keel::kafka
