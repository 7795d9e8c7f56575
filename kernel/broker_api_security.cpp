// ABI 2.4 slots of the broker API table: SASL exchanges run by the broker
// against its SCRAM credential store (security/), and the store's admin
// (Kafka's DescribeUserScramCredentials / AlterUserScramCredentials).
#include <spdlog/spdlog.h>

#include "broker_api_support.hpp"
#include "security/credential_store.hpp"
#include "security/sasl_session.hpp"

// The opaque session a transport holds between sasl_begin and sasl_end.
struct keel_sasl_session {
  keel::security::SaslSession session;
};

namespace keel {
namespace {

security::ScramMechanism mechanism_or_fail(const char* name) {
  const std::string n = name != nullptr ? name : "";
  auto m = security::scram_mechanism(n);
  if (!m) {
    fail(KEEL_ERR_INVALID_ARGUMENT,
         "unknown SCRAM mechanism '" + n + "'; use SCRAM-SHA-256 or SCRAM-SHA-512");
  }
  return *m;
}

}  // namespace

void add_security_api(keel_broker_api* api) {
  api->sasl_mechanisms = [](void*, keel_string_callback cb, void* user) {
    if (cb == nullptr) return;
    std::string all;
    for (const auto& m : security::SaslSession::mechanisms()) all += (all.empty() ? "" : ",") + m;
    cb(user, all.c_str());
  };
  api->sasl_begin = [](void* ctx, const char* mechanism, keel_sasl_session** out, keel_error* err) {
    return guard(err, [&] {
      if (out == nullptr) fail(KEEL_ERR_INVALID_ARGUMENT, "sasl_begin needs somewhere to put the session");
      *out = new keel_sasl_session{
          security::SaslSession(mechanism != nullptr ? mechanism : "", B(ctx).credentials())};
    });
  };
  api->sasl_step = [](void* ctx, keel_sasl_session* s, const char* token, size_t len, keel_data_callback cb,
                      void* user, keel_string_callback principal_cb, void* principal_user, int32_t* done,
                      keel_error* err) {
    const keel_status st = guard(err, [&] {
      if (s == nullptr) fail(KEEL_ERR_INVALID_ARGUMENT, "sasl_step without a session");
      const auto step = s->session.step(std::string_view(token != nullptr ? token : "", token ? len : 0));
      if (cb != nullptr) cb(user, step.challenge.data(), step.challenge.size());
      if (done != nullptr) *done = step.done ? 1 : 0;
      if (step.done) {
        if (principal_cb != nullptr) principal_cb(principal_user, s->session.principal().c_str());
        B(ctx).metrics().counter_add("keel_authentications_total",
                                     "mechanism=\"" + s->session.mechanism() + "\",result=\"ok\"", 1);
      }
    });
    if (st != KEEL_OK && s != nullptr) {
      B(ctx).metrics().counter_add("keel_authentications_total",
                                   "mechanism=\"" + s->session.mechanism() + "\",result=\"failed\"", 1);
    }
    return st;
  };
  api->sasl_end = [](void*, keel_sasl_session* s) { delete s; };
  api->scram_credentials = [](void* ctx, keel_scram_credential_callback cb, void* user) {
    if (cb == nullptr) return;
    for (const auto& e : B(ctx).credentials().list()) {
      cb(user, e.user.c_str(), security::scram_mechanism_name(e.mechanism), e.iterations);
    }
  };
  api->alter_scram_credential = [](void* ctx, const char* user, const char* mechanism, int32_t iterations,
                                   const char* salt, size_t salt_len, const char* salted, size_t salted_len,
                                   keel_error* err) {
    return guard(err, [&] {
      const std::string name = user != nullptr ? user : "";
      const auto m = mechanism_or_fail(mechanism);
      if (salt == nullptr || salt_len == 0)
        fail(KEEL_ERR_INVALID_ARGUMENT, "a SCRAM credential needs a salt");
      if (salted == nullptr || salted_len == 0) {
        fail(KEEL_ERR_INVALID_ARGUMENT, "a SCRAM credential needs a salted password");
      }
      B(ctx).credentials().put(
          name, security::scram_credential_from_salted(m, std::string_view(salted, salted_len),
                                                       std::string(salt, salt_len), iterations));
      spdlog::info("security: stored the {} credential of user '{}' ({} iterations)",
                   security::scram_mechanism_name(m), name, iterations);
    });
  };
  api->delete_scram_credential = [](void* ctx, const char* user, const char* mechanism, keel_error* err) {
    return guard(err, [&] {
      const std::string name = user != nullptr ? user : "";
      const auto m = mechanism_or_fail(mechanism);
      if (!B(ctx).credentials().remove(name, m)) {
        fail(KEEL_ERR_NOT_FOUND,
             "user '" + name + "' has no " + security::scram_mechanism_name(m) + " credential");
      }
      spdlog::info("security: deleted the {} credential of user '{}'", security::scram_mechanism_name(m),
                   name);
    });
  };
}

}  // namespace keel
