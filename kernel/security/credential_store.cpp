#include "security/credential_store.hpp"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/error.hpp"
#include "common/file_util.hpp"

namespace keel::security {
namespace {

constexpr size_t kMaxUserBytes = 256;  // as the SCRAM exchange accepts

[[noreturn]] void damaged(const std::string& path, const std::string& why) {
  fail(KEEL_ERR_CORRUPT, "the SCRAM credentials file '" + path + "' is damaged: " + why +
                             ". Restore it from a backup, or move it aside and add the users again "
                             "(keel-tool user add)");
}

std::string field(const nlohmann::json& j, const char* key, const std::string& path,
                  const std::string& where) {
  if (!j.contains(key) || !j[key].is_string()) damaged(path, where + " has no string '" + key + "'");
  auto raw = base64_decode(j[key].get<std::string>());
  if (!raw) damaged(path, where + "'s '" + key + "' is not base64");
  return *raw;
}

}  // namespace

CredentialStore::CredentialStore(std::string dir) : dir_(std::move(dir)) {
  const std::string path = file_in(dir_);
  std::ifstream in(path);
  if (!in) return;  // no users yet
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(text.str());
  } catch (const std::exception& e) {
    damaged(path, std::string("not JSON (") + e.what() + ")");
  }
  if (!doc.is_object() || doc.value("version", 0) != 1 || !doc.contains("users") ||
      !doc["users"].is_object()) {
    damaged(path, "expected {\"version\": 1, \"users\": {...}}");
  }
  for (const auto& [user, mechanisms] : doc["users"].items()) {
    if (!mechanisms.is_object()) damaged(path, "user '" + user + "' is not an object");
    for (const auto& [name, c] : mechanisms.items()) {
      const auto m = scram_mechanism(name);
      const std::string where = "user '" + user + "', " + name;
      if (!m) damaged(path, where + ": unknown mechanism");
      if (!c.is_object() || !c.contains("iterations") || !c["iterations"].is_number_integer()) {
        damaged(path, where + " has no integer 'iterations'");
      }
      ScramCredential cred;
      cred.mechanism = *m;
      cred.iterations = c["iterations"].get<int32_t>();
      cred.salt = field(c, "salt", path, where);
      cred.stored_key = field(c, "stored_key", path, where);
      cred.server_key = field(c, "server_key", path, where);
      users_[user][*m] = std::move(cred);
    }
  }
}

std::optional<ScramCredential> CredentialStore::lookup(const std::string& user, ScramMechanism m) const {
  std::shared_lock lock(mu_);
  auto u = users_.find(user);
  if (u == users_.end()) return std::nullopt;
  auto c = u->second.find(m);
  if (c == u->second.end()) return std::nullopt;
  return c->second;
}

void CredentialStore::put(const std::string& user, const ScramCredential& c) {
  if (user.empty() || user.size() > kMaxUserBytes) {
    fail(KEEL_ERR_INVALID_ARGUMENT, "a user name must have 1 to " + std::to_string(kMaxUserBytes) + " bytes");
  }
  std::unique_lock lock(mu_);
  Users next = users_;
  next[user][c.mechanism] = c;
  save(next);
  users_ = std::move(next);
}

bool CredentialStore::remove(const std::string& user, ScramMechanism m) {
  std::unique_lock lock(mu_);
  auto u = users_.find(user);
  if (u == users_.end() || u->second.count(m) == 0) return false;
  Users next = users_;
  next[user].erase(m);
  if (next[user].empty()) next.erase(user);
  save(next);
  users_ = std::move(next);
  return true;
}

std::vector<CredentialStore::Entry> CredentialStore::list() const {
  std::shared_lock lock(mu_);
  std::vector<Entry> out;
  for (const auto& [user, creds] : users_) {
    for (const auto& [m, c] : creds) out.push_back(Entry{user, m, c.iterations});
  }
  return out;
}

void CredentialStore::save(const Users& users) const {
  nlohmann::json doc;
  doc["version"] = 1;
  doc["users"] = nlohmann::json::object();
  for (const auto& [user, creds] : users) {
    for (const auto& [m, c] : creds) {
      doc["users"][user][scram_mechanism_name(m)] = {{"iterations", c.iterations},
                                                     {"salt", base64_encode(c.salt)},
                                                     {"stored_key", base64_encode(c.stored_key)},
                                                     {"server_key", base64_encode(c.server_key)}};
    }
  }
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) fail(KEEL_ERR_IO, "cannot create '" + dir_ + "' for the SCRAM credentials: " + ec.message());
  // Only the broker's user reads the keys (they let a holder pose as the
  // broker to clients, though not as a client to the broker).
  ::chmod(dir_.c_str(), 0700);
  write_file_atomically(file_in(dir_), doc.dump(2) + "\n");
}

}  // namespace keel::security
