// DescribeUserScramCredentials (key 50) and AlterUserScramCredentials (key
// 51), v0 (flexible), KIP-554: the broker's SCRAM users, changed on a running
// broker (keel-tool user does it offline). Mechanisms are Kafka's numbers:
// 1 SCRAM-SHA-256, 2 SCRAM-SHA-512. Errors per user: RESOURCE_NOT_FOUND (91)
// for a user or credential that is not there, DUPLICATE_RESOURCE (92) for a
// user named twice in one request, UNSUPPORTED_SASL_MECHANISM (33),
// UNACCEPTABLE_CREDENTIAL (93) for iterations outside 4096..16384 or an
// empty salt or password. Salts and salted passwords are never logged.
#include <map>
#include <set>

#include "../authorization.hpp"
#include "../protocol/errors.hpp"
#include "../services.hpp"
#include "handlers.hpp"

namespace keel::kafka {
namespace {

const char* mechanism_name(int8_t m) { return m == 1 ? "SCRAM-SHA-256" : m == 2 ? "SCRAM-SHA-512" : nullptr; }

int8_t mechanism_number(const std::string& name) {
  return name == "SCRAM-SHA-256" ? 1 : name == "SCRAM-SHA-512" ? 2 : 0;
}

struct UserResult {
  ErrorCode error = ErrorCode::kNone;
  std::string message;
};

ErrorCode scram_error(keel_status s) {
  switch (s) {
    case KEEL_OK:
      return ErrorCode::kNone;
    case KEEL_ERR_NOT_FOUND:
      return ErrorCode::kResourceNotFound;
    case KEEL_ERR_INVALID_ARGUMENT:
      return ErrorCode::kUnacceptableCredential;
    default:
      return ErrorCode::kUnknownServerError;
  }
}

}  // namespace

void handle_describe_user_scram_credentials(Services& services, Request& req, const Responder& respond) {
  Reader& r = req.body;
  const int32_t n = r.array_length(true);
  std::vector<std::string> asked;
  for (int32_t i = 0; i < n; ++i) {
    asked.push_back(r.compact_string());
    r.tagged_fields();
  }
  r.tagged_fields();

  if (!cluster_allowed(services, req, KEEL_ACL_OP_DESCRIBE)) {
    Writer w;
    w.int32(0);  // throttle_time_ms
    w.int16(code(ErrorCode::kClusterAuthorizationFailed));
    w.nullable_string("not authorized to DESCRIBE the cluster (the users' credentials)", true);
    w.array_length(0, true);
    w.tagged_fields(true);
    return respond.send(std::move(w));
  }
  std::map<std::string, std::vector<std::pair<int8_t, int32_t>>> stored;
  for (const auto& c : services.broker.scram_credentials()) {
    if (const int8_t m = mechanism_number(c.mechanism); m != 0) stored[c.user].emplace_back(m, c.iterations);
  }
  std::vector<std::string> users;
  if (n < 0) {
    for (const auto& [user, infos] : stored) users.push_back(user);
  } else {
    users = asked;
  }
  std::map<std::string, int> times;
  for (const auto& u : users) ++times[u];

  Writer w;
  w.int32(0);                       // throttle_time_ms
  w.int16(code(ErrorCode::kNone));  // error_code
  w.nullable_string(std::nullopt, true);
  std::set<std::string> answered;
  std::vector<std::string> unique;
  for (const auto& u : users) {
    if (answered.insert(u).second) unique.push_back(u);
  }
  w.array_length(static_cast<int32_t>(unique.size()), true);
  for (const auto& u : unique) {
    w.string(u, true);
    auto it = stored.find(u);
    if (times[u] > 1) {
      w.int16(code(ErrorCode::kDuplicateResource));
      w.nullable_string("user '" + u + "' is named more than once in the request", true);
      w.array_length(0, true);
    } else if (it == stored.end()) {
      w.int16(code(ErrorCode::kResourceNotFound));
      w.nullable_string("user '" + u + "' has no SCRAM credential", true);
      w.array_length(0, true);
    } else {
      w.int16(code(ErrorCode::kNone));
      w.nullable_string(std::nullopt, true);
      w.array_length(static_cast<int32_t>(it->second.size()), true);
      for (const auto& [m, iterations] : it->second) {
        w.int8(m);
        w.int32(iterations);
        w.tagged_fields(true);
      }
    }
    w.tagged_fields(true);
  }
  w.tagged_fields(true);
  respond.send(std::move(w));
}

void handle_alter_user_scram_credentials(Services& services, Request& req, const Responder& respond) {
  Reader& r = req.body;
  struct Change {
    std::string user;
    int8_t mechanism = 0;
    bool upsert = false;
    int32_t iterations = 0;
    std::string salt, salted_password;
  };
  std::vector<Change> changes;
  const int32_t deletions = r.array_length(true);
  for (int32_t i = 0; i < deletions; ++i) {
    Change c;
    c.user = r.compact_string();
    c.mechanism = r.int8();
    r.tagged_fields();
    changes.push_back(std::move(c));
  }
  const int32_t upsertions = r.array_length(true);
  for (int32_t i = 0; i < upsertions; ++i) {
    Change c;
    c.upsert = true;
    c.user = r.compact_string();
    c.mechanism = r.int8();
    c.iterations = r.int32();
    c.salt = std::string(r.bytes(true));
    c.salted_password = std::string(r.bytes(true));
    r.tagged_fields();
    changes.push_back(std::move(c));
  }
  r.tagged_fields();

  // Kafka's rule: a user named twice (in either list) fails as a whole and
  // none of its changes apply.
  std::map<std::string, int> times;
  for (const auto& c : changes) ++times[c.user];
  std::map<std::string, UserResult> results;  // one per user, in name order
  const bool may_alter = cluster_allowed(services, req, KEEL_ACL_OP_ALTER);
  for (const auto& c : changes) {
    UserResult& res = results[c.user];
    if (res.error != ErrorCode::kNone) continue;
    if (!may_alter) {
      res = {ErrorCode::kClusterAuthorizationFailed,
             "not authorized to ALTER the cluster (users' credentials)"};
      continue;
    }
    if (times[c.user] > 1) {
      res = {ErrorCode::kDuplicateResource, "user '" + c.user + "' is named more than once in the request"};
      continue;
    }
    const char* name = mechanism_name(c.mechanism);
    if (name == nullptr) {
      res = {ErrorCode::kUnsupportedSaslMechanism, "unknown SCRAM mechanism " + std::to_string(c.mechanism) +
                                                       " (1: SCRAM-SHA-256, 2: SCRAM-SHA-512)"};
      continue;
    }
    std::string message;
    const keel_status s = c.upsert ? services.broker.alter_scram_credential(
                                         c.user, name, c.iterations, c.salt, c.salted_password, &message)
                                   : services.broker.delete_scram_credential(c.user, name, &message);
    if (s != KEEL_OK) res = {scram_error(s), message};
  }
  Writer w;
  w.int32(0);  // throttle_time_ms
  w.array_length(static_cast<int32_t>(results.size()), true);
  for (const auto& [user, res] : results) {
    w.string(user, true);
    w.int16(code(res.error));
    w.nullable_string(res.error == ErrorCode::kNone ? std::nullopt : std::optional<std::string>(res.message),
                      true);
    w.tagged_fields(true);
  }
  w.tagged_fields(true);
  respond.send(std::move(w));
}

}  // namespace keel::kafka
