#include "security/scram.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <climits>
#include <utility>
#include <vector>

namespace keel::security {

namespace {

const EVP_MD* digest(ScramMechanism m) { return m == ScramMechanism::kSha512 ? EVP_sha512() : EVP_sha256(); }

std::string hmac(ScramMechanism m, std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (key.size() > INT_MAX ||
      HMAC(digest(m), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len) == nullptr) {
    fail(KEEL_ERR_INTERNAL, std::string("HMAC failed for ") + scram_mechanism_name(m));
  }
  std::string result(reinterpret_cast<const char*>(out), len);
  OPENSSL_cleanse(out, sizeof(out));
  return result;
}

std::string hash(ScramMechanism m, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out, &len, digest(m), nullptr) != 1) {
    fail(KEEL_ERR_INTERNAL, std::string("digest failed for ") + scram_mechanism_name(m));
  }
  return std::string(reinterpret_cast<const char*>(out), len);
}

// Overwrites a secret before its memory goes back to the allocator.
void wipe(std::string& s) {
  if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
  s.clear();
}

void check_iterations(int32_t iterations) {
  if (iterations < kScramMinIterations || iterations > kScramMaxIterations) {
    fail(KEEL_ERR_INVALID_ARGUMENT,
         "SCRAM iterations must be between " + std::to_string(kScramMinIterations) + " and " +
             std::to_string(kScramMaxIterations) + ", got " + std::to_string(iterations));
  }
}

// The same words for an unknown user and a wrong password, so that a client
// cannot tell which it was.
[[noreturn]] void fail_credentials(std::string_view user, const char* mechanism) {
  fail(KEEL_ERR_AUTHENTICATION,
       "authentication failed: invalid credentials for user '" + std::string(user) + "' (" + mechanism + ")");
}

// A credential the lookup returned must be usable as it is; anything else is
// a fault of the store, not of the client.
void check_stored(const ScramCredential& c, ScramMechanism m) {
  const char* name = scram_mechanism_name(m);
  if (c.mechanism != m) {
    fail(KEEL_ERR_INTERNAL, std::string("credential lookup for ") + name + " returned a " +
                                scram_mechanism_name(c.mechanism) + " credential");
  }
  const size_t n = scram_digest_size(m);
  if (c.iterations < kScramMinIterations || c.iterations > kScramMaxIterations || c.salt.empty() ||
      c.stored_key.size() != n || c.server_key.size() != n) {
    fail(KEEL_ERR_INTERNAL, std::string("stored ") + name + " credential is invalid (iterations " +
                                std::to_string(c.iterations) + ", salt or key sizes)");
  }
}

// Rejects control characters (they would end up in logs) and byte sequences
// that are not UTF-8 (RFC 5802 and RFC 4616 require it).
bool valid_user_text(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (c < 0x20 || c == 0x7f) return false;
      ++i;
      continue;
    }
    size_t extra;
    uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf) {
      extra = 1;
      cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      extra = 2;
      cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      extra = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + extra >= s.size()) return false;
    for (size_t k = 1; k <= extra; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    // Overlong forms, surrogates, beyond U+10FFFF.
    if ((extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000) || (cp >= 0xd800 && cp <= 0xdfff) ||
        cp > 0x10ffff) {
      return false;
    }
    i += extra + 1;
  }
  return true;
}

// Splits on ',' keeping empty parts, so that ",," is seen and refused.
std::vector<std::string_view> split_commas(std::string_view s) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    size_t comma = s.find(',', start);
    if (comma == std::string_view::npos) {
      parts.push_back(s.substr(start));
      return parts;
    }
    parts.push_back(s.substr(start, comma - start));
    start = comma + 1;
  }
}

bool has_prefix(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

// An attribute name of RFC 5802 is one letter; Kafka's extensions are
// alphanumeric words. Either is safe to quote in a message.
bool valid_attribute_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

// RFC 5802 "printable": %x21-7E except ','.
bool valid_nonce(std::string_view s) {
  for (char c : s) {
    if (c < 0x21 || c > 0x7e || c == ',') return false;
  }
  return true;
}

[[noreturn]] void malformed_first(const std::string& what) {
  fail(KEEL_ERR_INVALID_ARGUMENT, "malformed SCRAM client-first message: " + what);
}

[[noreturn]] void malformed_final(const std::string& what) {
  fail(KEEL_ERR_INVALID_ARGUMENT, "malformed SCRAM client-final message: " + what);
}

// saslname of RFC 5802: ',' and '=' travel as "=2C" and "=3D"; any other
// '=' is an error. `what` names the field in messages.
std::string unescape_saslname(std::string_view s, const char* what) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '=') {
      out += s[i];
      continue;
    }
    std::string_view code = s.substr(i + 1, 2);
    if (code == "2C") {
      out += ',';
    } else if (code == "3D") {
      out += '=';
    } else {
      malformed_first(std::string("bad '=' escape in ") + what + " (only =2C and =3D are allowed)");
    }
    i += 2;
  }
  return out;
}

void check_user(std::string_view user, const std::string& context) {
  if (user.empty()) fail(KEEL_ERR_INVALID_ARGUMENT, context + "empty user name");
  if (user.size() > kSaslMaxUserBytes) {
    fail(KEEL_ERR_INVALID_ARGUMENT,
         context + "user name is longer than " + std::to_string(kSaslMaxUserBytes) + " bytes");
  }
  if (!valid_user_text(user)) {
    fail(KEEL_ERR_INVALID_ARGUMENT, context + "user name is not UTF-8 or has control characters");
  }
}

// The value of `part` if it is the attribute "<name>=value".
std::optional<std::string_view> attribute(std::string_view part, char name) {
  if (part.size() < 2 || part[0] != name || part[1] != '=') return std::nullopt;
  return part.substr(2);
}

}  // namespace

std::optional<ScramMechanism> scram_mechanism(std::string_view name) {
  if (name == "SCRAM-SHA-256") return ScramMechanism::kSha256;
  if (name == "SCRAM-SHA-512") return ScramMechanism::kSha512;
  return std::nullopt;
}

const char* scram_mechanism_name(ScramMechanism m) {
  return m == ScramMechanism::kSha512 ? "SCRAM-SHA-512" : "SCRAM-SHA-256";
}

size_t scram_digest_size(ScramMechanism m) { return static_cast<size_t>(EVP_MD_get_size(digest(m))); }

std::string random_bytes(size_t n) {
  std::string out(n, '\0');
  if (n == 0) return out;
  if (n > INT_MAX || RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    fail(KEEL_ERR_INTERNAL, "the random number generator failed to produce " + std::to_string(n) + " bytes");
  }
  return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string scram_salted_password(ScramMechanism m, std::string_view password, std::string_view salt,
                                  int32_t iterations) {
  if (iterations < 1) {
    fail(KEEL_ERR_INVALID_ARGUMENT, "SCRAM iterations must be positive, got " + std::to_string(iterations));
  }
  if (salt.empty()) fail(KEEL_ERR_INVALID_ARGUMENT, "SCRAM salt must not be empty");
  if (password.size() > INT_MAX || salt.size() > INT_MAX) {
    fail(KEEL_ERR_INVALID_ARGUMENT, "SCRAM password or salt is too long");
  }
  std::string out(scram_digest_size(m), '\0');
  if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                        reinterpret_cast<const unsigned char*>(salt.data()), static_cast<int>(salt.size()),
                        iterations, digest(m), static_cast<int>(out.size()),
                        reinterpret_cast<unsigned char*>(out.data())) != 1) {
    fail(KEEL_ERR_INTERNAL, std::string("PBKDF2 failed for ") + scram_mechanism_name(m));
  }
  return out;
}

ScramCredential scram_credential_from_salted(ScramMechanism m, std::string_view salted_password,
                                             std::string salt, int32_t iterations) {
  check_iterations(iterations);
  if (salt.empty()) fail(KEEL_ERR_INVALID_ARGUMENT, "SCRAM salt must not be empty");
  if (salted_password.size() != scram_digest_size(m)) {
    fail(KEEL_ERR_INVALID_ARGUMENT, std::string(scram_mechanism_name(m)) + " salted password must be " +
                                        std::to_string(scram_digest_size(m)) + " bytes, got " +
                                        std::to_string(salted_password.size()));
  }
  std::string client_key = hmac(m, salted_password, "Client Key");
  ScramCredential c;
  c.mechanism = m;
  c.iterations = iterations;
  c.salt = std::move(salt);
  c.stored_key = hash(m, client_key);
  c.server_key = hmac(m, salted_password, "Server Key");
  wipe(client_key);
  return c;
}

ScramCredential scram_credential_from_password(ScramMechanism m, std::string_view password, std::string salt,
                                               int32_t iterations) {
  check_iterations(iterations);
  if (password.empty()) fail(KEEL_ERR_INVALID_ARGUMENT, "SCRAM password must not be empty");
  std::string salted = scram_salted_password(m, password, salt, iterations);
  ScramCredential c = scram_credential_from_salted(m, salted, std::move(salt), iterations);
  wipe(salted);
  return c;
}

ScramServer::ScramServer(ScramMechanism m, CredentialLookup lookup, std::string server_nonce)
    : mechanism_(m), lookup_(std::move(lookup)), server_nonce_(std::move(server_nonce)) {
  if (server_nonce_.empty()) server_nonce_ = base64_encode(random_bytes(32));
  if (server_nonce_.size() > kScramMaxNonceBytes || !valid_nonce(server_nonce_)) {
    fail(KEEL_ERR_INVALID_ARGUMENT, "SCRAM server nonce must be at most " +
                                        std::to_string(kScramMaxNonceBytes) +
                                        " printable characters without ','");
  }
}

std::string ScramServer::step(std::string_view client_message) {
  switch (state_) {
    case State::kComplete:
      state_ = State::kFailed;
      fail(KEEL_ERR_AUTHENTICATION, std::string(scram_mechanism_name(mechanism_)) +
                                        " exchange is already complete; no further message is expected");
    case State::kFailed:
      fail(KEEL_ERR_AUTHENTICATION,
           std::string(scram_mechanism_name(mechanism_)) + " exchange has already failed");
    default:
      break;
  }
  try {
    if (client_message.size() > kSaslMaxMessageBytes) {
      fail(KEEL_ERR_INVALID_ARGUMENT, std::string("SCRAM client message is longer than ") +
                                          std::to_string(kSaslMaxMessageBytes) + " bytes");
    }
    if (state_ == State::kClientFirst) {
      std::string answer = client_first(client_message);
      state_ = State::kClientFinal;
      return answer;
    }
    std::string answer = client_final(client_message);
    state_ = State::kComplete;
    return answer;
  } catch (...) {
    state_ = State::kFailed;
    throw;
  }
}

// client-first-message = gs2-header client-first-message-bare
//   gs2-header = gs2-cbind-flag "," [ "a=" saslname ] ","
//   client-first-message-bare = [ "m=" ext "," ] "n=" saslname "," "r=" nonce [ "," extensions ]
std::string ScramServer::client_first(std::string_view message) {
  const char* name = scram_mechanism_name(mechanism_);
  if (has_prefix(message, "p=")) {
    fail(KEEL_ERR_AUTHENTICATION,
         std::string(name) + ": channel binding ('p=' in the GS2 header) is not supported");
  }
  if (!has_prefix(message, "n,") && !has_prefix(message, "y,")) {
    malformed_first("the GS2 header must start with 'n,', 'y,' or 'p='");
  }
  const size_t authz_end = message.find(',', 2);
  if (authz_end == std::string_view::npos) malformed_first("the GS2 header does not end with ','");
  const std::string_view authz_field = message.substr(2, authz_end - 2);
  std::optional<std::string> authzid;
  if (!authz_field.empty()) {
    if (!has_prefix(authz_field, "a=")) malformed_first("the authorization identity must be 'a=<name>'");
    authzid = unescape_saslname(authz_field.substr(2), "the authorization identity");
  }
  gs2_header_ = std::string(message.substr(0, authz_end + 1));
  client_first_bare_ = std::string(message.substr(authz_end + 1));

  const std::vector<std::string_view> parts = split_commas(client_first_bare_);
  if (has_prefix(parts[0], "m=")) {
    fail(KEEL_ERR_AUTHENTICATION, std::string(name) + ": mandatory extension ('m=') is not supported");
  }
  const std::optional<std::string_view> user_field = attribute(parts[0], 'n');
  if (!user_field) malformed_first("missing 'n=' attribute");
  const std::optional<std::string_view> client_nonce =
      parts.size() < 2 ? std::nullopt : attribute(parts[1], 'r');
  if (!client_nonce) malformed_first("missing 'r=' attribute");
  for (size_t i = 2; i < parts.size(); ++i) {
    const size_t eq = parts[i].find('=');
    const std::string_view ext = parts[i].substr(0, eq);
    if (eq == std::string_view::npos || !valid_attribute_name(ext)) {
      malformed_first("attribute " + std::to_string(i + 1) + " is not 'name=value'");
    }
    // Kafka's delegation tokens need a token store this broker does not have.
    if (ext == "tokenauth") {
      fail(KEEL_ERR_AUTHENTICATION,
           std::string(name) + ": delegation token authentication ('tokenauth') is not supported");
    }
    fail(KEEL_ERR_AUTHENTICATION,
         std::string(name) + ": SCRAM extension '" + std::string(ext) + "' is not supported");
  }

  std::string user = unescape_saslname(*user_field, "the user name");
  check_user(user, "malformed SCRAM client-first message: ");
  if (authzid && *authzid != user) {
    fail(KEEL_ERR_AUTHENTICATION, std::string(name) + ": authorization identity differs from user '" + user +
                                      "'; acting as another user is not supported");
  }
  if (client_nonce->empty()) malformed_first("empty client nonce");
  if (client_nonce->size() > kScramMaxNonceBytes) {
    malformed_first("client nonce is longer than " + std::to_string(kScramMaxNonceBytes) + " bytes");
  }
  if (!valid_nonce(*client_nonce)) malformed_first("client nonce has characters outside printable ASCII");
  user_ = std::move(user);

  std::optional<ScramCredential> credential = lookup_(user_, mechanism_);
  if (!credential) fail_credentials(user_, name);
  check_stored(*credential, mechanism_);
  credential_ = std::move(*credential);

  nonce_ = std::string(*client_nonce) + server_nonce_;
  server_first_ = "r=" + nonce_ + ",s=" + base64_encode(credential_.salt) +
                  ",i=" + std::to_string(credential_.iterations);
  return server_first_;
}

// client-final-message = "c=" base64(gs2-header) "," "r=" nonce [ "," extensions ] "," "p=" base64(proof)
std::string ScramServer::client_final(std::string_view message) {
  const char* name = scram_mechanism_name(mechanism_);
  const std::vector<std::string_view> parts = split_commas(message);
  const std::optional<std::string_view> binding_field = attribute(parts[0], 'c');
  if (!binding_field) malformed_final("missing 'c=' attribute");
  const std::optional<std::string_view> nonce_field =
      parts.size() < 2 ? std::nullopt : attribute(parts[1], 'r');
  if (!nonce_field) malformed_final("missing 'r=' attribute");
  const std::optional<std::string_view> proof_field =
      parts.size() < 3 ? std::nullopt : attribute(parts.back(), 'p');
  if (!proof_field) malformed_final("missing 'p=' attribute (it must come last)");
  // Extensions in between are ignored (as Kafka does) but still signed: they
  // are part of the message without the proof.
  for (size_t i = 2; i + 1 < parts.size(); ++i) {
    const size_t eq = parts[i].find('=');
    if (eq == std::string_view::npos || !valid_attribute_name(parts[i].substr(0, eq))) {
      malformed_final("attribute " + std::to_string(i + 1) + " is not 'name=value'");
    }
  }

  const std::optional<std::string> binding = base64_decode(*binding_field);
  if (!binding) malformed_final("'c=' is not valid base64");
  if (*binding != gs2_header_) {
    fail(KEEL_ERR_AUTHENTICATION,
         std::string(name) +
             ": channel binding 'c=' does not match the GS2 header of the client-first message");
  }
  // RFC 5802 wants the combined nonce back. librdkafka (2.0 at least) sends
  // its client nonce in front of the combined nonce again; Kafka's broker
  // accepts any nonce that ends with the combined one, and so must we for
  // those clients. Only that exact form is taken: the server's part is
  // still there whole, so a replayed exchange still fails.
  const std::string client_nonce = nonce_.substr(0, nonce_.size() - server_nonce_.size());
  if (*nonce_field != nonce_ && *nonce_field != client_nonce + nonce_) {
    fail(KEEL_ERR_AUTHENTICATION, std::string(name) + ": nonce 'r=' does not match the one the server sent");
  }
  std::optional<std::string> proof = base64_decode(*proof_field);
  if (!proof) malformed_final("'p=' is not valid base64");
  if (proof->size() != scram_digest_size(mechanism_)) {
    malformed_final("proof is " + std::to_string(proof->size()) + " bytes, expected " +
                    std::to_string(scram_digest_size(mechanism_)));
  }

  // AuthMessage = client-first-message-bare "," server-first-message "," client-final-message-without-proof
  const std::string_view without_proof = message.substr(0, message.size() - parts.back().size() - 1);
  const std::string auth_message =
      client_first_bare_ + "," + server_first_ + "," + std::string(without_proof);
  std::string client_key = hmac(mechanism_, credential_.stored_key, auth_message);  // ClientSignature
  for (size_t i = 0; i < client_key.size(); ++i) client_key[i] ^= (*proof)[i];      // now ClientKey
  const bool ok = constant_time_equal(hash(mechanism_, client_key), credential_.stored_key);
  wipe(client_key);
  wipe(*proof);
  if (!ok) fail_credentials(user_, name);
  return "v=" + base64_encode(hmac(mechanism_, credential_.server_key, auth_message));
}

std::string verify_plain(std::string_view message, const CredentialLookup& lookup) {
  const std::string context = "malformed SASL PLAIN message: ";
  if (message.size() > kSaslMaxMessageBytes) {
    fail(KEEL_ERR_INVALID_ARGUMENT,
         context + "longer than " + std::to_string(kSaslMaxMessageBytes) + " bytes");
  }
  const size_t first = message.find('\0');
  const size_t second = first == std::string_view::npos ? first : message.find('\0', first + 1);
  if (second == std::string_view::npos) {
    fail(KEEL_ERR_INVALID_ARGUMENT, context + "expected 'authzid NUL authcid NUL password'");
  }
  if (message.find('\0', second + 1) != std::string_view::npos) {
    fail(KEEL_ERR_INVALID_ARGUMENT, context + "more than two NUL separators");
  }
  const std::string_view authzid = message.substr(0, first);
  const std::string user(message.substr(first + 1, second - first - 1));
  const std::string_view password = message.substr(second + 1);
  check_user(user, context);
  if (password.empty()) fail(KEEL_ERR_INVALID_ARGUMENT, context + "empty password");
  if (!authzid.empty() && authzid != user) {
    fail(KEEL_ERR_AUTHENTICATION, "PLAIN: authorization identity differs from user '" + user +
                                      "'; acting as another user is not supported");
  }

  // The stronger credential when the user has both.
  std::optional<ScramCredential> credential;
  for (ScramMechanism m : {ScramMechanism::kSha512, ScramMechanism::kSha256}) {
    credential = lookup(user, m);
    if (!credential) continue;
    check_stored(*credential, m);
    break;
  }
  if (!credential) fail_credentials(user, "PLAIN");
  const ScramCredential& c = *credential;
  std::string salted = scram_salted_password(c.mechanism, password, c.salt, c.iterations);
  std::string client_key = hmac(c.mechanism, salted, "Client Key");
  const bool ok = constant_time_equal(hash(c.mechanism, client_key), c.stored_key);
  wipe(salted);
  wipe(client_key);
  if (!ok) fail_credentials(user, "PLAIN");
  return user;
}

}  // namespace keel::security
