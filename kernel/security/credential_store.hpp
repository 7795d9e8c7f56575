// The broker's users and their SCRAM credentials (Kafka's KIP-554 model):
// per user and mechanism a salt, an iteration count, and the stored and
// server keys of RFC 5802. Never a password: from these a client's proof
// can be checked, but no password recovered.
//
// Durable in <data_dir>/.security/scram-credentials.json, replaced
// atomically on every change (a directory only the broker's user may read).
// One node's store: in a cluster each broker has its own (docs/security.md).
//
// Threads: any; lookups take a shared lock, changes an exclusive one and
// write the file before they return.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "security/scram.hpp"

namespace keel::security {

class CredentialStore {
 public:
  // Reads the file under `dir` (none yet: no users). Throws keel::Error
  // (CORRUPT) naming the file and what is wrong with it.
  explicit CredentialStore(std::string dir);

  static std::string file_in(const std::string& dir) { return dir + "/scram-credentials.json"; }

  std::optional<ScramCredential> lookup(const std::string& user, ScramMechanism m) const;
  // Adds or replaces, durably. Throws INVALID_ARGUMENT for an empty or
  // over-long name, keel::Error on I/O.
  void put(const std::string& user, const ScramCredential& c);
  // False when the user had no credential for `m`.
  bool remove(const std::string& user, ScramMechanism m);

  struct Entry {
    std::string user;
    ScramMechanism mechanism = ScramMechanism::kSha256;
    int32_t iterations = 0;
  };
  std::vector<Entry> list() const;

 private:
  using Users = std::map<std::string, std::map<ScramMechanism, ScramCredential>>;
  void save(const Users& users) const;

  const std::string dir_;
  mutable std::shared_mutex mu_;
  Users users_;
};

}  // namespace keel::security
