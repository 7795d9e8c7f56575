// SaslHandshake (key 17), v0-1: the client names its SASL mechanism.
// UNSUPPORTED_SASL_MECHANISM (33) with the listener's mechanisms when it is
// not one of them; ILLEGAL_SASL_STATE (34) on a PLAINTEXT listener or a
// second handshake. v1 moves the connection on to SaslAuthenticate; v0 to
// bare tokens (sasl_state.hpp).
#include <algorithm>

#include "../protocol/errors.hpp"
#include "../sasl_state.hpp"
#include "../services.hpp"
#include "handlers.hpp"

namespace keel::kafka {

void handle_sasl_handshake(Services& services, Request& req, const Responder& respond) {
  const std::string mechanism = req.body.string();
  SaslState none;  // no connection behind the request: a PLAINTEXT one
  SaslState& sasl = req.sasl != nullptr ? *req.sasl : none;
  const auto& offered = services.settings.sasl_mechanisms;
  ErrorCode error = ErrorCode::kNone;
  if (!sasl.required || sasl.phase != SaslState::Phase::handshake) {
    error = ErrorCode::kIllegalSaslState;
  } else if (std::find(offered.begin(), offered.end(), mechanism) == offered.end()) {
    error = ErrorCode::kUnsupportedSaslMechanism;
  } else {
    keel_status status = KEEL_OK;
    std::string message;
    sasl.session = services.broker.sasl_begin(mechanism, &status, &message);
    if (!sasl.session) {
      services.host.warn("SASL mechanism " + mechanism + " cannot start: " + message);
      error = ErrorCode::kUnsupportedSaslMechanism;
    } else {
      sasl.mechanism = mechanism;
      sasl.phase = req.api_version == 0 ? SaslState::Phase::raw_token : SaslState::Phase::authenticate;
    }
  }
  Writer w;
  w.int16(code(error));
  w.array_length(sasl.required ? static_cast<int32_t>(offered.size()) : 0, false);
  if (sasl.required) {
    for (const auto& m : offered) w.string(m, false);
  }
  respond.send(std::move(w));
}

}  // namespace keel::kafka
