#include "basic_auth.hpp"

#include <openssl/sha.h>

#include <keel/base64.hpp>

namespace keel::web {
namespace {

constexpr size_t kMaxCached = 4096;  // distinct accepted headers kept

std::string sha256(std::string_view text) {
  unsigned char out[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), out);
  return std::string(reinterpret_cast<const char*>(out), sizeof out);
}

}  // namespace

BasicAuth::Verdict BasicAuth::check(std::string_view header) {
  Verdict v;
  constexpr std::string_view kScheme = "Basic ";
  if (header.empty()) {
    v.message = "this endpoint needs HTTP Basic authentication (a user of the broker, keel-tool user add)";
    return v;
  }
  if (header.size() < kScheme.size() || header.substr(0, kScheme.size()) != kScheme || header.size() > 4096) {
    v.message = "the Authorization header must be 'Basic base64(user:password)'";
    return v;
  }
  const auto now = std::chrono::steady_clock::now();
  const std::string key = sha256(header);
  {
    std::lock_guard lock(mu_);
    if (auto it = accepted_.find(key); it != accepted_.end()) {
      if (it->second.second > now) {
        v.ok = true;
        v.user = it->second.first;
        return v;
      }
      accepted_.erase(it);
    }
  }
  const auto decoded = base64_decode(header.substr(kScheme.size()));
  const size_t colon = decoded ? decoded->find(':') : std::string::npos;
  if (!decoded || colon == std::string::npos) {
    v.message = "the Authorization header must be 'Basic base64(user:password)'";
    return v;
  }
  v.user = decoded->substr(0, colon);
  keel_status status = KEEL_OK;
  std::string why;
  auto session = broker_.sasl_begin("PLAIN", &status, &why);
  if (!session) {
    v.message = "authentication is not available: " + why;
    return v;
  }
  // PLAIN's message: authzid \0 user \0 password.
  std::string token;
  token.reserve(decoded->size() + 2);
  token += '\0';
  token += v.user;
  token += '\0';
  token.append(*decoded, colon + 1);
  const auto step = session->step(token);
  if (step.status != KEEL_OK || !step.done) {
    v.message = step.message.empty() ? "authentication failed" : step.message;
    return v;
  }
  v.ok = true;
  v.user = step.principal;
  std::lock_guard lock(mu_);
  if (accepted_.size() >= kMaxCached) {
    for (auto it = accepted_.begin(); it != accepted_.end();) {
      it = it->second.second <= now ? accepted_.erase(it) : std::next(it);
    }
    if (accepted_.size() >= kMaxCached) accepted_.erase(accepted_.begin());
  }
  accepted_[key] = {v.user, now + std::chrono::milliseconds(ttl_ms_)};
  return v;
}

}  // namespace keel::web
