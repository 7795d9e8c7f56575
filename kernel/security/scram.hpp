// The server side of SASL SCRAM-SHA-256/512 (RFC 5802, RFC 7677) and SASL
// PLAIN (RFC 4616), checked against stored SCRAM credentials the way Kafka
// keeps them: salt, iteration count, StoredKey and ServerKey, never the
// password. All cryptography is OpenSSL's libcrypto.
//
// Failures throw keel::Error. What a client may see is the message itself:
// an unknown user and a wrong password fail with the same words, and no
// message ever carries a password, proof or key. Malformed input fails with
// KEEL_ERR_INVALID_ARGUMENT and a precise message (it reveals nothing);
// everything else with KEEL_ERR_AUTHENTICATION.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <keel/base64.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace keel::security {

enum class ScramMechanism { kSha256, kSha512 };

// "SCRAM-SHA-256" / "SCRAM-SHA-512", exactly (SASL mechanism names are
// case-sensitive on the wire).
std::optional<ScramMechanism> scram_mechanism(std::string_view name);
const char* scram_mechanism_name(ScramMechanism m);
// Bytes of the mechanism's digest: the size of every key and proof.
size_t scram_digest_size(ScramMechanism m);

constexpr int32_t kScramMinIterations = 4096;   // Kafka's minimum
constexpr int32_t kScramMaxIterations = 16384;  // Kafka's maximum
// Bounds on what a client sends, so that a hostile one cannot make us
// allocate or hash much before it has proved anything.
constexpr size_t kSaslMaxMessageBytes = 4096;
constexpr size_t kSaslMaxUserBytes = 256;
constexpr size_t kScramMaxNonceBytes = 256;

struct ScramCredential {
  ScramMechanism mechanism = ScramMechanism::kSha256;
  int32_t iterations = 0;
  std::string salt;        // raw bytes
  std::string stored_key;  // raw bytes: H(ClientKey)
  std::string server_key;  // raw bytes: HMAC(SaltedPassword, "Server Key")
};

// n bytes from RAND_bytes; KEEL_ERR_INTERNAL if the generator fails.
std::string random_bytes(size_t n);
// Time depends on the length only, never on where the bytes differ.
bool constant_time_equal(std::string_view a, std::string_view b);

// Hi(password, salt, i) of RFC 5802: PBKDF2 with HMAC over the mechanism's
// digest. No SASLprep: Kafka uses the password's bytes as they are.
std::string scram_salted_password(ScramMechanism m, std::string_view password, std::string_view salt,
                                  int32_t iterations);

// A credential from a salted password (what Kafka's AlterUserScramCredentials
// sends) or from a password (an operator's `keel-tool user add`). Iterations
// outside [kScramMinIterations, kScramMaxIterations], an empty salt or a
// salted password of the wrong size -> KEEL_ERR_INVALID_ARGUMENT.
ScramCredential scram_credential_from_salted(ScramMechanism m, std::string_view salted_password,
                                             std::string salt, int32_t iterations);
ScramCredential scram_credential_from_password(ScramMechanism m, std::string_view password, std::string salt,
                                               int32_t iterations);

// Base64 as SCRAM carries salts, nonces and proofs: the SDK's strict one.
using keel::base64_decode;
using keel::base64_encode;

// The user's credential for a mechanism, nullopt if there is none. May
// throw; the exchange then fails with that error.
using CredentialLookup =
    std::function<std::optional<ScramCredential>(const std::string& user, ScramMechanism m)>;

// One SCRAM exchange on the server: step() takes each client message and
// returns the server's answer. Round 1 takes the client-first message and
// answers the server-first message; round 2 takes the client-final message,
// verifies the proof and answers the server-final message ("v=..."). Any
// other step throws, and after a failure every step throws.
//
// Not supported, each failing with its own message: channel binding ("p="),
// impersonation (an authzid other than the user), extensions (Kafka's
// "tokenauth=true" for delegation tokens, RFC 5802's mandatory "m=").
class ScramServer {
 public:
  // server_nonce: empty for 32 random bytes in base64; tests inject one.
  ScramServer(ScramMechanism m, CredentialLookup lookup, std::string server_nonce = "");

  std::string step(std::string_view client_message);
  // The client proved its identity.
  bool complete() const { return state_ == State::kComplete; }
  // The authenticated user once complete(); before, the user being tried.
  const std::string& user() const { return user_; }

 private:
  enum class State { kClientFirst, kClientFinal, kComplete, kFailed };

  std::string client_first(std::string_view message);
  std::string client_final(std::string_view message);

  ScramMechanism mechanism_;
  CredentialLookup lookup_;
  std::string server_nonce_;
  State state_ = State::kClientFirst;
  std::string user_;
  ScramCredential credential_;
  // What round 2 checks against and signs (RFC 5802 section 3).
  std::string gs2_header_;
  std::string client_first_bare_;
  std::string server_first_;
  std::string nonce_;  // client nonce + server nonce
};

// SASL PLAIN: "authzid\0authcid\0password", authzid empty or equal to
// authcid. Checked against the user's SCRAM credential (SHA-512 if there is
// one, else SHA-256) by recomputing the StoredKey from the password.
// Returns the user; throws like ScramServer::step().
std::string verify_plain(std::string_view message, const CredentialLookup& lookup);

}  // namespace keel::security
