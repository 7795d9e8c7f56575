#include "security/sasl_session.hpp"

#include "common/error.hpp"

namespace keel::security {

const std::vector<std::string>& SaslSession::mechanisms() {
  static const std::vector<std::string> all = {"SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"};
  return all;
}

SaslSession::SaslSession(const std::string& mechanism, const CredentialStore& store)
    : mechanism_(mechanism), store_(store) {
  // The store, not this session: the lookup must not depend on where the
  // session lives.
  const CredentialLookup lookup = [&store](const std::string& user, ScramMechanism m) {
    return store.lookup(user, m);
  };
  if (auto m = scram_mechanism(mechanism)) {
    scram_ = std::make_unique<ScramServer>(*m, lookup);
  } else if (mechanism != "PLAIN") {
    fail(KEEL_ERR_UNSUPPORTED,
         "SASL mechanism '" + mechanism +
             "' is not supported; this broker offers SCRAM-SHA-512, SCRAM-SHA-256 and PLAIN");
  }
}

SaslSession::Step SaslSession::step(std::string_view token) {
  if (failed_) fail(KEEL_ERR_AUTHENTICATION, "authentication failed: the SASL exchange already failed");
  if (done_) fail(KEEL_ERR_AUTHENTICATION, "authentication failed: the SASL exchange is already complete");
  try {
    Step out;
    if (scram_) {
      out.challenge = scram_->step(token);
      if (scram_->complete()) principal_ = scram_->user();
      out.done = scram_->complete();
    } else {
      principal_ = verify_plain(token, [&store = store_](const std::string& user, ScramMechanism m) {
        return store.lookup(user, m);
      });
      out.done = true;
    }
    done_ = out.done;
    return out;
  } catch (...) {
    failed_ = true;
    throw;
  }
}

}  // namespace keel::security
