// SASL SCRAM (RFC 5802, RFC 7677) and PLAIN (RFC 4616) on the server side.
// The client is played here with OpenSSL directly, not with the module's own
// helpers, so that a mistake shared by both sides cannot hide.
#include "security/scram.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace {

using keel::security::base64_decode;
using keel::security::base64_encode;
using keel::security::CredentialLookup;
using keel::security::ScramCredential;
using keel::security::ScramMechanism;
using keel::security::ScramServer;

// --- An independent client -------------------------------------------------

const EVP_MD* md(ScramMechanism m) { return m == ScramMechanism::kSha512 ? EVP_sha512() : EVP_sha256(); }

std::string ossl_b64(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                      reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::string ossl_unb64(const std::string& text) {
  std::string out(text.size(), '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  EXPECT_GE(n, 0) << text;
  size_t pad = 0;
  while (pad < text.size() && text[text.size() - 1 - pad] == '=') ++pad;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

std::string ossl_hmac(ScramMechanism m, const std::string& key, const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(md(m), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string ossl_hash(ScramMechanism m, const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, md(m), nullptr);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string ossl_pbkdf2(ScramMechanism m, const std::string& password, const std::string& salt,
                        int iterations) {
  std::string out(static_cast<size_t>(EVP_MD_get_size(md(m))), '\0');
  PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                    reinterpret_cast<const unsigned char*>(salt.data()), static_cast<int>(salt.size()),
                    iterations, md(m), static_cast<int>(out.size()),
                    reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

// The value of attribute `name` in "a=1,b=2".
std::string attr(const std::string& message, char name) {
  size_t pos = 0;
  while (pos <= message.size()) {
    size_t end = message.find(',', pos);
    if (end == std::string::npos) end = message.size();
    if (end - pos >= 2 && message[pos] == name && message[pos + 1] == '=') {
      return message.substr(pos + 2, end - pos - 2);
    }
    pos = end + 1;
  }
  ADD_FAILURE() << "no '" << name << "=' in " << message;
  return "";
}

struct Client {
  ScramMechanism mechanism;
  std::string escaped_user;  // as it goes on the wire
  std::string password;
  std::string client_nonce = "fyko+d2lbbFgONRv9qkxdawL";
  std::string gs2_header = "n,,";

  std::string bare() const { return "n=" + escaped_user + ",r=" + client_nonce; }
  std::string first() const { return gs2_header + bare(); }

  // The client-final message for `server_first`, with `nonce` and `binding`
  // overridable to play a cheating client that still signs what it sends.
  std::string final_message(const std::string& server_first, std::optional<std::string> nonce = std::nullopt,
                            std::optional<std::string> binding = std::nullopt) {
    const std::string salt = ossl_unb64(attr(server_first, 's'));
    const int iterations = std::stoi(attr(server_first, 'i'));
    const std::string without_proof =
        "c=" + binding.value_or(ossl_b64(gs2_header)) + ",r=" + nonce.value_or(attr(server_first, 'r'));
    const std::string auth_message = bare() + "," + server_first + "," + without_proof;
    const std::string salted = ossl_pbkdf2(mechanism, password, salt, iterations);
    const std::string client_key = ossl_hmac(mechanism, salted, "Client Key");
    const std::string signature = ossl_hmac(mechanism, ossl_hash(mechanism, client_key), auth_message);
    std::string proof = client_key;
    for (size_t i = 0; i < proof.size(); ++i) proof[i] ^= signature[i];
    expected_server_final =
        "v=" + ossl_b64(ossl_hmac(mechanism, ossl_hmac(mechanism, salted, "Server Key"), auth_message));
    return without_proof + ",p=" + ossl_b64(proof);
  }

  std::string expected_server_final = {};
};

// --- A credential store ----------------------------------------------------

struct Store {
  std::map<std::pair<std::string, ScramMechanism>, ScramCredential> credentials;
  std::vector<std::pair<std::string, ScramMechanism>> lookups;

  void add(const std::string& user, ScramMechanism m, const std::string& password,
           int32_t iterations = 4096) {
    credentials[{user, m}] = keel::security::scram_credential_from_password(
        m, password, keel::security::random_bytes(16), iterations);
  }

  CredentialLookup lookup() {
    return [this](const std::string& user, ScramMechanism m) -> std::optional<ScramCredential> {
      lookups.emplace_back(user, m);
      auto it = credentials.find({user, m});
      if (it == credentials.end()) return std::nullopt;
      return it->second;
    };
  }
};

// Runs `fn`, expects a keel::Error with `code` whose message contains
// `needle`, and returns the message.
template <class Fn>
std::string expect_error(Fn&& fn, keel_status code, const std::string& needle) {
  try {
    fn();
  } catch (const keel::Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << "message: " << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no error; expected one containing '" << needle << "'";
  return "";
}

const std::string kInvalidAlice256 =
    "authentication failed: invalid credentials for user 'alice' (SCRAM-SHA-256)";
const std::string kInvalidAlice512 =
    "authentication failed: invalid credentials for user 'alice' (SCRAM-SHA-512)";

// --- SCRAM -----------------------------------------------------------------

TEST(Scram, MechanismNames) {
  EXPECT_EQ(keel::security::scram_mechanism("SCRAM-SHA-256"), ScramMechanism::kSha256);
  EXPECT_EQ(keel::security::scram_mechanism("SCRAM-SHA-512"), ScramMechanism::kSha512);
  EXPECT_EQ(keel::security::scram_mechanism("scram-sha-256"), std::nullopt);
  EXPECT_EQ(keel::security::scram_mechanism("SCRAM-SHA-1"), std::nullopt);
  EXPECT_EQ(keel::security::scram_mechanism("PLAIN"), std::nullopt);
  EXPECT_STREQ(keel::security::scram_mechanism_name(ScramMechanism::kSha256), "SCRAM-SHA-256");
  EXPECT_STREQ(keel::security::scram_mechanism_name(ScramMechanism::kSha512), "SCRAM-SHA-512");
  EXPECT_EQ(keel::security::scram_digest_size(ScramMechanism::kSha256), 32u);
  EXPECT_EQ(keel::security::scram_digest_size(ScramMechanism::kSha512), 64u);
}

// RFC 7677 section 3: the SCRAM-SHA-256 exchange, byte for byte.
TEST(Scram, Rfc7677Sha256Vector) {
  const std::string salt = *base64_decode("W22ZaJ0SNY7soEsUEjb6gQ==");
  Store store;
  store.credentials[{"user", ScramMechanism::kSha256}] =
      keel::security::scram_credential_from_password(ScramMechanism::kSha256, "pencil", salt, 4096);
  ScramServer server(ScramMechanism::kSha256, store.lookup(), "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");

  EXPECT_EQ(server.step("n,,n=user,r=rOprNGfwEbeRWgbNEkqO"),
            "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096");
  EXPECT_FALSE(server.complete());
  EXPECT_EQ(server.step("c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                        "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="),
            "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
  EXPECT_TRUE(server.complete());
  EXPECT_EQ(server.user(), "user");
  ASSERT_EQ(store.lookups.size(), 1u);
  EXPECT_EQ(store.lookups[0], std::make_pair(std::string("user"), ScramMechanism::kSha256));
}

// The same credential whether built from the password or, like Kafka's
// AlterUserScramCredentials, from the salted password.
TEST(Scram, CredentialFromSaltedMatchesFromPassword) {
  for (ScramMechanism m : {ScramMechanism::kSha256, ScramMechanism::kSha512}) {
    const std::string salt = "0123456789abcdef";
    const std::string salted = ossl_pbkdf2(m, "hunter2", salt, 8192);
    EXPECT_EQ(keel::security::scram_salted_password(m, "hunter2", salt, 8192), salted);
    ScramCredential a = keel::security::scram_credential_from_salted(m, salted, salt, 8192);
    ScramCredential b = keel::security::scram_credential_from_password(m, "hunter2", salt, 8192);
    EXPECT_EQ(a.mechanism, m);
    EXPECT_EQ(a.iterations, 8192);
    EXPECT_EQ(a.salt, salt);
    EXPECT_EQ(a.stored_key, ossl_hash(m, ossl_hmac(m, salted, "Client Key")));
    EXPECT_EQ(a.server_key, ossl_hmac(m, salted, "Server Key"));
    EXPECT_EQ(b.stored_key, a.stored_key);
    EXPECT_EQ(b.server_key, a.server_key);
  }
}

TEST(Scram, Sha512RoundTripWithRandomServerNonce) {
  Store store;
  store.add("alice", ScramMechanism::kSha512, "correct horse battery staple", 4096);
  ScramServer server(ScramMechanism::kSha512, store.lookup());
  Client client{ScramMechanism::kSha512, "alice", "correct horse battery staple"};

  const std::string server_first = server.step(client.first());
  const std::string nonce = attr(server_first, 'r');
  ASSERT_EQ(nonce.rfind(client.client_nonce, 0), 0u) << "the combined nonce starts with the client's";
  EXPECT_GE(nonce.size(), client.client_nonce.size() + 32) << "the server adds its own nonce";
  EXPECT_EQ(attr(server_first, 'i'), "4096");
  EXPECT_EQ(ossl_unb64(attr(server_first, 's')),
            store.credentials.at({"alice", ScramMechanism::kSha512}).salt);

  const std::string server_final = server.step(client.final_message(server_first));
  EXPECT_EQ(server_final, client.expected_server_final);
  EXPECT_TRUE(server.complete());
  EXPECT_EQ(server.user(), "alice");

  // A second exchange gets a different server nonce.
  ScramServer other(ScramMechanism::kSha512, store.lookup());
  EXPECT_NE(attr(other.step(client.first()), 'r'), nonce);
}

// The client may say it supports channel binding ("y") when the server
// offers none of the -PLUS mechanisms; c= then carries "y,,".
TEST(Scram, ChannelBindingFlagYIsAccepted) {
  Store store;
  store.add("alice", ScramMechanism::kSha256, "pw");
  ScramServer server(ScramMechanism::kSha256, store.lookup());
  Client client{ScramMechanism::kSha256, "alice", "pw"};
  client.gs2_header = "y,,";
  const std::string final_message = client.final_message(server.step(client.first()));
  EXPECT_EQ(final_message.substr(0, 7), "c=eSws,");
  EXPECT_EQ(server.step(final_message), client.expected_server_final);
  EXPECT_TRUE(server.complete());
}

TEST(Scram, AuthzidEqualToUserIsAccepted) {
  Store store;
  store.add("alice", ScramMechanism::kSha256, "pw");
  ScramServer server(ScramMechanism::kSha256, store.lookup());
  Client client{ScramMechanism::kSha256, "alice", "pw"};
  client.gs2_header = "n,a=alice,";
  EXPECT_EQ(server.step(client.final_message(server.step(client.first()))), client.expected_server_final);
  EXPECT_TRUE(server.complete());
}

TEST(Scram, WrongPasswordFailsWithoutLeakingSecrets) {
  Store store;
  store.add("alice", ScramMechanism::kSha512, "right password");
  ScramServer server(ScramMechanism::kSha512, store.lookup());
  Client client{ScramMechanism::kSha512, "alice", "wrong password"};
  const std::string final_message = client.final_message(server.step(client.first()));
  const std::string message = expect_error([&] { server.step(final_message); }, KEEL_ERR_AUTHENTICATION, "");
  EXPECT_EQ(message, kInvalidAlice512);
  EXPECT_EQ(message.find("right password"), std::string::npos);
  EXPECT_EQ(message.find("wrong password"), std::string::npos);
  EXPECT_EQ(message.find(attr(final_message, 'p')), std::string::npos);
  EXPECT_FALSE(server.complete());
}

TEST(Scram, UnknownUserFailsAtOnceWithTheWrongPasswordMessage) {
  Store store;
  store.add("alice", ScramMechanism::kSha256, "right");
  // Wrong password: fails at round 2.
  ScramServer known(ScramMechanism::kSha256, store.lookup());
  Client liar{ScramMechanism::kSha256, "alice", "wrong"};
  const std::string final_message = liar.final_message(known.step(liar.first()));
  const std::string wrong_password =
      expect_error([&] { known.step(final_message); }, KEEL_ERR_AUTHENTICATION, "");

  // Unknown user: the same words, at round 1.
  Store empty;
  ScramServer unknown(ScramMechanism::kSha256, empty.lookup());
  const std::string no_user =
      expect_error([&] { unknown.step("n,,n=alice,r=abc"); }, KEEL_ERR_AUTHENTICATION, "");
  EXPECT_EQ(no_user, wrong_password);
  EXPECT_EQ(no_user, kInvalidAlice256);
  EXPECT_FALSE(unknown.complete());

  // Credentials of the other mechanism do not count: SHA-512 does not know alice.
  ScramServer other_mechanism(ScramMechanism::kSha512, store.lookup());
  EXPECT_EQ(expect_error([&] { other_mechanism.step("n,,n=alice,r=abc"); }, KEEL_ERR_AUTHENTICATION, ""),
            kInvalidAlice512);
}

TEST(Scram, TamperedNonceFails) {
  Store store;
  store.add("alice", ScramMechanism::kSha256, "pw");
  ScramServer server(ScramMechanism::kSha256, store.lookup(), "SERVERNONCE");
  Client client{ScramMechanism::kSha256, "alice", "pw"};
  const std::string server_first = server.step(client.first());
  // A correct proof over a different nonce: only the nonce check catches it.
  const std::string final_message = client.final_message(server_first, client.client_nonce + "SERVERNONCF");
  expect_error([&] { server.step(final_message); }, KEEL_ERR_AUTHENTICATION, "nonce 'r=' does not match");
  EXPECT_FALSE(server.complete());

  // The client's nonce alone (the server's part dropped) fails too.
  ScramServer again(ScramMechanism::kSha256, store.lookup(), "SERVERNONCE");
  const std::string short_final = client.final_message(again.step(client.first()), client.client_nonce);
  expect_error([&] { again.step(short_final); }, KEEL_ERR_AUTHENTICATION, "nonce 'r=' does not match");
}

// librdkafka 2.0 repeats its client nonce before the combined nonce in the
// client-final message; Kafka's broker accepts that form, so Keel does, and
// nothing looser.
TEST(Scram, LibrdkafkaNonceFormIsAcceptedAndNothingLooser) {
  Store store;
  store.add("alice", ScramMechanism::kSha256, "pw");
  Client client{ScramMechanism::kSha256, "alice", "pw"};
  ScramServer server(ScramMechanism::kSha256, store.lookup(), "SERVERNONCE");
  const std::string combined = client.client_nonce + "SERVERNONCE";
  const std::string final_message =
      client.final_message(server.step(client.first()), client.client_nonce + combined);
  EXPECT_EQ(server.step(final_message).rfind("v=", 0), 0u);
  EXPECT_TRUE(server.complete());

  for (const std::string& prefix : {std::string("x"), std::string("XX") + client.client_nonce, combined}) {
    ScramServer other(ScramMechanism::kSha256, store.lookup(), "SERVERNONCE");
    const std::string bad = client.final_message(other.step(client.first()), prefix + combined);
    expect_error([&] { other.step(bad); }, KEEL_ERR_AUTHENTICATION, "nonce 'r=' does not match");
  }
}

TEST(Scram, WrongChannelBindingFails) {
  Store store;
  store.add("alice", ScramMechanism::kSha256, "pw");
  Client client{ScramMechanism::kSha256, "alice", "pw"};
  // "y,," instead of the "n,," the client-first message carried.
  for (const std::string& binding : {std::string("eSws"), ossl_b64("n,a=alice,"), std::string("")}) {
    ScramServer server(ScramMechanism::kSha256, store.lookup());
    const std::string final_message =
        client.final_message(server.step(client.first()), std::nullopt, binding);
    expect_error([&] { server.step(final_message); }, KEEL_ERR_AUTHENTICATION,
                 "channel binding 'c=' does not match");
    EXPECT_FALSE(server.complete());
  }
}

struct BadFirst {
  std::string message;
  keel_status code;
  std::string needle;
};

TEST(Scram, MalformedOrRefusedClientFirstMessages) {
  const std::vector<BadFirst> cases = {
      {"", KEEL_ERR_INVALID_ARGUMENT, "the GS2 header must start with"},
      {"x,,n=alice,r=abc", KEEL_ERR_INVALID_ARGUMENT, "the GS2 header must start with"},
      {"n,", KEEL_ERR_INVALID_ARGUMENT, "does not end with ','"},
      {"n,n=alice,r=abc", KEEL_ERR_INVALID_ARGUMENT, "authorization identity must be 'a=<name>'"},
      {"n,,r=abc", KEEL_ERR_INVALID_ARGUMENT, "malformed SCRAM client-first message: missing 'n=' attribute"},
      {"n,,", KEEL_ERR_INVALID_ARGUMENT, "missing 'n=' attribute"},
      {"n,,n=alice", KEEL_ERR_INVALID_ARGUMENT, "missing 'r=' attribute"},
      {"n,,n=alice,,r=abc", KEEL_ERR_INVALID_ARGUMENT, "missing 'r=' attribute"},
      {"n,,n=alice,r=", KEEL_ERR_INVALID_ARGUMENT, "empty client nonce"},
      {"n,,n=alice,r=a\x01"
       "b",
       KEEL_ERR_INVALID_ARGUMENT, "client nonce has characters"},
      {"n,,n=,r=abc", KEEL_ERR_INVALID_ARGUMENT, "empty user name"},
      {"n,,n=al=2Xice,r=abc", KEEL_ERR_INVALID_ARGUMENT, "bad '=' escape in the user name"},
      {"n,,n=al=2cice,r=abc", KEEL_ERR_INVALID_ARGUMENT, "bad '=' escape in the user name"},
      {"n,,n=al=ice,r=abc", KEEL_ERR_INVALID_ARGUMENT, "bad '=' escape in the user name"},
      {"n,,n=alice=2,r=abc", KEEL_ERR_INVALID_ARGUMENT, "bad '=' escape in the user name"},
      {"n,,n=alice=,r=abc", KEEL_ERR_INVALID_ARGUMENT, "bad '=' escape in the user name"},
      {"n,a=x=41,n=alice,r=abc", KEEL_ERR_INVALID_ARGUMENT, "bad '=' escape in the authorization identity"},
      {"n,,n=al\tice,r=abc", KEEL_ERR_INVALID_ARGUMENT, "control characters"},
      {"n,,n=al\xc3(ice,r=abc", KEEL_ERR_INVALID_ARGUMENT, "not UTF-8"},
      {"n,,n=alice,r=abc,junk", KEEL_ERR_INVALID_ARGUMENT, "attribute 3 is not 'name=value'"},
      {"p=tls-unique,,n=alice,r=abc", KEEL_ERR_AUTHENTICATION, "channel binding ('p=' in the GS2 header)"},
      {"n,,n=alice,r=abc,tokenauth=true", KEEL_ERR_AUTHENTICATION, "delegation token authentication"},
      {"n,,n=alice,r=abc,foo=bar", KEEL_ERR_AUTHENTICATION, "SCRAM extension 'foo' is not supported"},
      {"n,,m=ext,n=alice,r=abc", KEEL_ERR_AUTHENTICATION, "mandatory extension ('m=') is not supported"},
      {"n,a=bob,n=alice,r=abc", KEEL_ERR_AUTHENTICATION, "authorization identity differs from user 'alice'"},
      {"n,,n=" + std::string(257, 'u') + ",r=abc", KEEL_ERR_INVALID_ARGUMENT, "longer than 256 bytes"},
      {"n,,n=alice,r=" + std::string(257, 'r'), KEEL_ERR_INVALID_ARGUMENT, "client nonce is longer than 256"},
      {"n,,n=alice,r=" + std::string(4096, 'r'), KEEL_ERR_INVALID_ARGUMENT, "longer than 4096 bytes"},
  };
  for (const BadFirst& c : cases) {
    SCOPED_TRACE(c.message.substr(0, 64));
    Store store;
    store.add("alice", ScramMechanism::kSha256, "pw");
    ScramServer server(ScramMechanism::kSha256, store.lookup());
    expect_error([&] { server.step(c.message); }, c.code, c.needle);
    EXPECT_TRUE(store.lookups.empty()) << "refused before looking the user up";
    EXPECT_FALSE(server.complete());
    // Failed for good.
    expect_error([&] { server.step("n,,n=alice,r=abc"); }, KEEL_ERR_AUTHENTICATION, "has already failed");
  }
}

TEST(Scram, LimitsAreInclusive) {
  Store store;
  const std::string user(256, 'u');
  store.add(user, ScramMechanism::kSha256, "pw");
  ScramServer server(ScramMechanism::kSha256, store.lookup());
  Client client{ScramMechanism::kSha256, user, "pw", std::string(256, 'r')};
  EXPECT_EQ(server.step(client.final_message(server.step(client.first()))), client.expected_server_final);
  EXPECT_TRUE(server.complete());
}

TEST(Scram, MalformedClientFinalMessages) {
  Store store;
  store.add("alice", ScramMechanism::kSha256, "pw");
  Client client{ScramMechanism::kSha256, "alice", "pw"};
  const std::string proof32 = ossl_b64(std::string(32, 'x'));
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "missing 'c=' attribute"},
      {"r=NONCE,p=" + proof32, "missing 'c=' attribute"},
      {"c=biws", "missing 'r=' attribute"},
      {"c=biws,p=" + proof32, "missing 'r=' attribute"},
      {"c=biws,r=NONCE", "missing 'p=' attribute"},
      {"c=biws,r=NONCE,p=" + proof32 + ",x=y", "missing 'p=' attribute"},
      {"c=biws,r=NONCE,junk,p=" + proof32, "attribute 3 is not 'name=value'"},
      {"c=biw,r=NONCE,p=" + proof32, "'c=' is not valid base64"},
      {"c=biws,r=NONCE,p=not*base64", "'p=' is not valid base64"},
      {"c=biws,r=NONCE,p=" + ossl_b64(std::string(31, 'x')), "proof is 31 bytes, expected 32"},
      {"c=biws,r=NONCE,p=" + ossl_b64(std::string(64, 'x')), "proof is 64 bytes, expected 32"},
      {"c=biws,r=NONCE,p=" + std::string(4100, 'A'), "longer than 4096 bytes"},
  };
  for (const auto& [message_template, needle] : cases) {
    ScramServer server(ScramMechanism::kSha256, store.lookup(), "SRV");
    server.step(client.first());
    std::string message = message_template;
    if (size_t at = message.find("NONCE"); at != std::string::npos) {
      message.replace(at, 5, client.client_nonce + "SRV");
    }
    SCOPED_TRACE(message.substr(0, 80));
    const std::string text = expect_error([&] { server.step(message); }, KEEL_ERR_INVALID_ARGUMENT, needle);
    if (needle.rfind("longer", 0) != 0) {
      EXPECT_EQ(text.rfind("malformed SCRAM client-final message: ", 0), 0u) << text;
    }
    EXPECT_FALSE(server.complete());
  }
}

// Extensions between r= and p= are ignored but covered by the proof.
TEST(Scram, ClientFinalExtensionsAreSigned) {
  Store store;
  store.add("alice", ScramMechanism::kSha256, "pw");
  Client client{ScramMechanism::kSha256, "alice", "pw"};
  ScramServer server(ScramMechanism::kSha256, store.lookup());
  const std::string server_first = server.step(client.first());
  std::string final_message = client.final_message(server_first);
  // Inserting an extension after signing invalidates the proof.
  const size_t p = final_message.rfind(",p=");
  final_message.insert(p, ",ext=1");
  EXPECT_EQ(expect_error([&] { server.step(final_message); }, KEEL_ERR_AUTHENTICATION, ""), kInvalidAlice256);
}

TEST(Scram, ThirdStepAndStepAfterFailureFail) {
  Store store;
  store.add("alice", ScramMechanism::kSha256, "pw");
  Client client{ScramMechanism::kSha256, "alice", "pw"};

  ScramServer done(ScramMechanism::kSha256, store.lookup());
  const std::string final_message = client.final_message(done.step(client.first()));
  done.step(final_message);
  ASSERT_TRUE(done.complete());
  expect_error([&] { done.step(final_message); }, KEEL_ERR_AUTHENTICATION, "exchange is already complete");
  EXPECT_FALSE(done.complete()) << "an exchange that goes on after the end is broken";
  expect_error([&] { done.step(""); }, KEEL_ERR_AUTHENTICATION, "has already failed");

  // After a wrong proof, even the right one is refused.
  ScramServer failed(ScramMechanism::kSha256, store.lookup(), "SRV");
  Client liar{ScramMechanism::kSha256, "alice", "wrong"};
  const std::string server_first = failed.step(liar.first());
  expect_error([&] { failed.step(liar.final_message(server_first)); }, KEEL_ERR_AUTHENTICATION,
               "invalid credentials");
  expect_error([&] { failed.step(client.final_message(server_first)); }, KEEL_ERR_AUTHENTICATION,
               "has already failed");
  EXPECT_FALSE(failed.complete());
}

TEST(Scram, UserNameEscapes) {
  Store store;
  store.add("a,b=c", ScramMechanism::kSha512, "pw");
  ScramServer server(ScramMechanism::kSha512, store.lookup());
  Client client{ScramMechanism::kSha512, "a=2Cb=3Dc", "pw"};
  client.gs2_header = "n,a=a=2Cb=3Dc,";
  const std::string server_first = server.step(client.first());
  ASSERT_EQ(store.lookups.size(), 1u);
  EXPECT_EQ(store.lookups[0].first, "a,b=c");
  // The AuthMessage holds the escaped name as sent: the client's proof is
  // computed over it.
  EXPECT_EQ(server.step(client.final_message(server_first)), client.expected_server_final);
  EXPECT_TRUE(server.complete());
  EXPECT_EQ(server.user(), "a,b=c");
}

TEST(Scram, LookupErrorsFailTheExchange) {
  CredentialLookup broken = [](const std::string&, ScramMechanism) -> std::optional<ScramCredential> {
    throw keel::Error(KEEL_ERR_IO, "credential store unreadable");
  };
  ScramServer server(ScramMechanism::kSha256, broken);
  expect_error([&] { server.step("n,,n=alice,r=abc"); }, KEEL_ERR_IO, "credential store unreadable");
  expect_error([&] { server.step("n,,n=alice,r=abc"); }, KEEL_ERR_AUTHENTICATION, "has already failed");
}

TEST(Scram, InvalidStoredCredentialIsAnInternalError) {
  Store store;
  store.add("alice", ScramMechanism::kSha256, "pw");
  store.credentials[{"alice", ScramMechanism::kSha256}].stored_key.pop_back();
  ScramServer server(ScramMechanism::kSha256, store.lookup());
  expect_error([&] { server.step("n,,n=alice,r=abc"); }, KEEL_ERR_INTERNAL,
               "stored SCRAM-SHA-256 credential");

  Store mislabeled;
  mislabeled.add("alice", ScramMechanism::kSha256, "pw");
  mislabeled.credentials[{"alice", ScramMechanism::kSha256}].mechanism = ScramMechanism::kSha512;
  ScramServer other(ScramMechanism::kSha256, mislabeled.lookup());
  expect_error([&] { other.step("n,,n=alice,r=abc"); }, KEEL_ERR_INTERNAL,
               "returned a SCRAM-SHA-512 credential");
}

TEST(Scram, BadInjectedServerNonceIsRefused) {
  Store store;
  for (const std::string& nonce : {std::string("a,b"), std::string("a b"), std::string(257, 'n')}) {
    expect_error([&] { ScramServer server(ScramMechanism::kSha256, store.lookup(), nonce); },
                 KEEL_ERR_INVALID_ARGUMENT, "SCRAM server nonce must be");
  }
}

TEST(Scram, IterationsOutOfRange) {
  const std::string salt = "salt";
  for (ScramMechanism m : {ScramMechanism::kSha256, ScramMechanism::kSha512}) {
    const std::string salted(keel::security::scram_digest_size(m), 's');
    for (int32_t iterations : {0, -1, 4095, 16385, 1 << 30}) {
      SCOPED_TRACE(iterations);
      expect_error([&] { keel::security::scram_credential_from_password(m, "pw", salt, iterations); },
                   KEEL_ERR_INVALID_ARGUMENT, "between 4096 and 16384, got " + std::to_string(iterations));
      expect_error([&] { keel::security::scram_credential_from_salted(m, salted, salt, iterations); },
                   KEEL_ERR_INVALID_ARGUMENT, "between 4096 and 16384, got " + std::to_string(iterations));
    }
    EXPECT_EQ(keel::security::scram_credential_from_salted(m, salted, salt, 4096).iterations, 4096);
    EXPECT_EQ(keel::security::scram_credential_from_salted(m, salted, salt, 16384).iterations, 16384);
    expect_error([&] { keel::security::scram_credential_from_salted(m, salted.substr(1), salt, 4096); },
                 KEEL_ERR_INVALID_ARGUMENT, "salted password must be");
    expect_error([&] { keel::security::scram_credential_from_salted(m, salted, "", 4096); },
                 KEEL_ERR_INVALID_ARGUMENT, "salt must not be empty");
    expect_error([&] { keel::security::scram_credential_from_password(m, "", salt, 4096); },
                 KEEL_ERR_INVALID_ARGUMENT, "password must not be empty");
  }
}

// --- PLAIN -----------------------------------------------------------------

std::string plain(const std::string& authzid, const std::string& user, const std::string& password) {
  return authzid + std::string(1, '\0') + user + std::string(1, '\0') + password;
}

TEST(Plain, SuccessPrefersSha512) {
  Store store;
  store.add("alice", ScramMechanism::kSha512, "pw512");
  store.add("alice", ScramMechanism::kSha256, "pw256");
  EXPECT_EQ(keel::security::verify_plain(plain("", "alice", "pw512"), store.lookup()), "alice");
  EXPECT_EQ(keel::security::verify_plain(plain("alice", "alice", "pw512"), store.lookup()), "alice");
  ASSERT_FALSE(store.lookups.empty());
  EXPECT_EQ(store.lookups[0].second, ScramMechanism::kSha512);
  // The SHA-256 password is not consulted when SHA-512 exists.
  EXPECT_EQ(expect_error([&] { keel::security::verify_plain(plain("", "alice", "pw256"), store.lookup()); },
                         KEEL_ERR_AUTHENTICATION, ""),
            "authentication failed: invalid credentials for user 'alice' (PLAIN)");
}

TEST(Plain, OnlySha256Credentials) {
  Store store;
  store.add("bob", ScramMechanism::kSha256, "pw", 10000);
  EXPECT_EQ(keel::security::verify_plain(plain("", "bob", "pw"), store.lookup()), "bob");
  ASSERT_EQ(store.lookups.size(), 2u);
  EXPECT_EQ(store.lookups[0].second, ScramMechanism::kSha512);
  EXPECT_EQ(store.lookups[1].second, ScramMechanism::kSha256);
}

TEST(Plain, WrongPasswordAndUnknownUserLookAlike) {
  Store store;
  store.add("alice", ScramMechanism::kSha512, "secret-pw");
  const std::string wrong =
      expect_error([&] { keel::security::verify_plain(plain("", "alice", "guess-pw"), store.lookup()); },
                   KEEL_ERR_AUTHENTICATION, "");
  EXPECT_EQ(wrong, "authentication failed: invalid credentials for user 'alice' (PLAIN)");
  EXPECT_EQ(wrong.find("guess-pw"), std::string::npos);
  EXPECT_EQ(wrong.find("secret-pw"), std::string::npos);
  Store empty;
  EXPECT_EQ(
      expect_error([&] { keel::security::verify_plain(plain("", "alice", "guess-pw"), empty.lookup()); },
                   KEEL_ERR_AUTHENTICATION, ""),
      wrong);
  // A password that is a prefix or extension of the right one.
  EXPECT_EQ(
      expect_error([&] { keel::security::verify_plain(plain("", "alice", "secret-p"), store.lookup()); },
                   KEEL_ERR_AUTHENTICATION, ""),
      wrong);
  EXPECT_EQ(
      expect_error([&] { keel::security::verify_plain(plain("", "alice", "secret-pw!"), store.lookup()); },
                   KEEL_ERR_AUTHENTICATION, ""),
      wrong);
}

TEST(Plain, Malformed) {
  Store store;
  store.add("alice", ScramMechanism::kSha512, "pw");
  const std::string nul(1, '\0');
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "expected 'authzid NUL authcid NUL password'"},
      {"alice", "expected 'authzid NUL authcid NUL password'"},
      {nul + "alice", "expected 'authzid NUL authcid NUL password'"},
      {"alice" + nul + "pw", "expected 'authzid NUL authcid NUL password'"},
      {nul + "alice" + nul + "pw" + nul, "more than two NUL separators"},
      {nul + nul + "pw", "empty user name"},
      {nul + "alice" + nul, "empty password"},
      {nul + std::string(257, 'u') + nul + "pw", "user name is longer than 256 bytes"},
      {nul + "al\nice" + nul + "pw", "control characters"},
      {nul + "alice" + nul + std::string(4096, 'p'), "longer than 4096 bytes"},
  };
  for (const auto& c : cases) {
    // Not a structured binding: clang 14 cannot capture those in a lambda.
    const std::string& message = c.first;
    const std::string& needle = c.second;
    SCOPED_TRACE(needle);
    const std::string text = expect_error([&] { keel::security::verify_plain(message, store.lookup()); },
                                          KEEL_ERR_INVALID_ARGUMENT, needle);
    EXPECT_EQ(text.rfind("malformed SASL PLAIN message: ", 0), 0u) << text;
  }
  EXPECT_TRUE(store.lookups.empty());
  expect_error([&] { keel::security::verify_plain(plain("bob", "alice", "pw"), store.lookup()); },
               KEEL_ERR_AUTHENTICATION, "authorization identity differs from user 'alice'");
  EXPECT_TRUE(store.lookups.empty());
}

// --- Helpers ---------------------------------------------------------------

// The SDK's base64 (keel/base64.hpp), which SCRAM uses; RFC 4648's vectors
// are in http_json_records_test.cpp. Here: agreement with OpenSSL's encoder
// and the strictness SCRAM relies on.
TEST(Base64, AgreesWithOpenSslAndRoundTrips) {
  EXPECT_EQ(base64_encode(std::string("\xff\xfe\x00", 3)), "//4A");
  EXPECT_EQ(base64_decode("//4A"), std::string("\xff\xfe\x00", 3));
  for (size_t n = 0; n < 70; ++n) {
    const std::string bytes = keel::security::random_bytes(n);
    const std::string encoded = base64_encode(bytes);
    EXPECT_EQ(encoded, ossl_b64(bytes));
    EXPECT_EQ(base64_decode(encoded), bytes) << n;
  }
}

TEST(Base64, RejectsBadInput) {
  for (const char* bad : {"Zg", "Zg=", "Zg===", "Z===", "====", "=Zg=", "Zm9=", "Zh==", "Zm8=Zm8=", "Zm 9v",
                          "Zm9v\n", "Zm-_", "Zm9v*A=="}) {
    SCOPED_TRACE(bad);
    EXPECT_EQ(base64_decode(bad), std::nullopt);
  }
  EXPECT_EQ(base64_decode(std::string("Zm9v\0", 5)), std::nullopt);
  EXPECT_EQ(base64_decode(std::string("Zg=\0", 4)), std::nullopt);
}

TEST(Helpers, ConstantTimeEqualAndRandomBytes) {
  EXPECT_TRUE(keel::security::constant_time_equal("", ""));
  EXPECT_TRUE(keel::security::constant_time_equal("abc", "abc"));
  EXPECT_FALSE(keel::security::constant_time_equal("abc", "abd"));
  EXPECT_FALSE(keel::security::constant_time_equal("abc", "ab"));
  EXPECT_FALSE(keel::security::constant_time_equal("", "a"));
  EXPECT_TRUE(keel::security::constant_time_equal(std::string("a\0b", 3), std::string("a\0b", 3)));
  EXPECT_FALSE(keel::security::constant_time_equal(std::string("a\0b", 3), std::string("a\0c", 3)));

  EXPECT_EQ(keel::security::random_bytes(0), "");
  const std::string a = keel::security::random_bytes(32);
  const std::string b = keel::security::random_bytes(32);
  EXPECT_EQ(a.size(), 32u);
  EXPECT_NE(a, b);
}

}  // namespace
