// The ACL bindings of the built-in `acl` authorizer, with Kafka's rules
// (AclAuthorizer) for deciding an action, and the file they persist in.
//
// A check is answered from memory, without allocating, by looking only at
// the bindings that can apply. Per resource type, the patterns sit in two
// hash tables (LITERAL, PREFIXED) by name, and the check hashes the name in
// one pass, looking up on the way its prefixes of the lengths that some
// PREFIXED name has, then the whole name and the literal "*". In each
// pattern found, the entries of the principal and of "User:*" are found by
// binary search. So the cost grows with the name's length and the number of
// distinct prefix lengths, not with the number of bindings.
//
// Thread-safe: authorize/describe/size from any number of threads; add and
// remove are serialised among themselves, write the file without blocking
// checks, and hold checks off only while they apply the change in memory.
#pragma once

#include <pthread.h>

#include <cstddef>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "authorizer/acl/acl_binding.hpp"

namespace keel::acl {

// A readers-writer lock that lets a waiting writer in before new readers.
// std::shared_mutex is glibc's default rwlock, which prefers readers: with
// checks arriving back to back from several threads there is always a
// reader inside, and add/remove would wait forever (the concurrency test
// hung exactly so). Usable with std::shared_lock and std::unique_lock; not
// recursive (a thread holding it shared must not take it again).
class WriterFirstMutex {
 public:
  WriterFirstMutex();
  ~WriterFirstMutex() { ::pthread_rwlock_destroy(&lock_); }
  WriterFirstMutex(const WriterFirstMutex&) = delete;
  WriterFirstMutex& operator=(const WriterFirstMutex&) = delete;

  void lock() { ::pthread_rwlock_wrlock(&lock_); }
  void unlock() { ::pthread_rwlock_unlock(&lock_); }
  void lock_shared() { ::pthread_rwlock_rdlock(&lock_); }
  void unlock_shared() { ::pthread_rwlock_unlock(&lock_); }

 private:
  pthread_rwlock_t lock_;
};

class AclStore {
 public:
  struct Options {
    // Principals ("User:admin") allowed everything, whatever the bindings.
    std::set<std::string> super_users;
    // What a resource that no binding names gets: Kafka's
    // allow.everyone.if.no.acl.found. A binding for anyone on the resource
    // (any principal, operation or permission) makes it "named".
    bool allow_everyone_if_no_acl_found = false;
  };

  // path: the JSON file the bindings persist in ("" = in memory only). It is
  // read when it exists; a damaged one throws sdk::Error(KEEL_ERR_CORRUPT)
  // naming it and what to do (restore it, or move it aside and start with no
  // bindings), one that cannot be read KEEL_ERR_IO. A super user that is not
  // "Type:name" throws KEEL_ERR_INVALID_ARGUMENT.
  AclStore(std::string path, Options options);
  ~AclStore();
  AclStore(const AclStore&) = delete;
  AclStore& operator=(const AclStore&) = delete;

  // Whether `principal` connecting from `host` may do `op` on the resource
  // (type, name). A question that is not one (type ANY/UNKNOWN, operation
  // ANY/UNKNOWN) is answered no, for super users too: it is a caller's bug,
  // and failing closed keeps it from opening anything.
  bool authorize(std::string_view principal, std::string_view host, ResourceType type, std::string_view name,
                 Operation op) const;

  // Whether `principal` from `host` may do `op` on SOME resource of `type`
  // (Kafka's authorizeByResourceType, KIP-679: an idempotent producer needs
  // WRITE on some topic). Yes for a super user; otherwise yes when an ALLOW
  // binding of the principal (or User:*) and host grants `op` on a pattern
  // that no DENY binding of theirs covers (a DENY on the literal "*", on the
  // same pattern, or on a PREFIXED pattern the allowed name starts with).
  // With allow_everyone_if_no_acl_found, also yes when no binding of the
  // type exists. Looks at every binding of the type: for rare questions
  // (InitProducerId), not the per-request path.
  bool authorize_any(std::string_view principal, std::string_view host, ResourceType type,
                     Operation op) const;

  // Stores the bindings not stored yet (a binding given twice counts once)
  // and returns how many that was; the file holds them before this returns.
  // Throws sdk::Error KEEL_ERR_INVALID_ARGUMENT naming the first invalid
  // binding (nothing is added then), or an I/O error (nothing is added,
  // except after a failed sync of the directory, see persist()).
  size_t add(const std::vector<AclBinding>& bindings);

  // The bindings `filter` selects, in operator< order. An UNKNOWN field in
  // the filter throws KEEL_ERR_INVALID_ARGUMENT.
  std::vector<AclBinding> describe(const AclBindingFilter& filter) const;

  // Removes the bindings `filter` selects, durably, and returns them (in
  // operator< order). Throws as describe() does, or on an I/O error.
  std::vector<AclBinding> remove(const AclBindingFilter& filter);

  size_t size() const;
  const std::string& path() const { return path_; }

 private:
  struct Index;  // acl_store.cpp: the bindings, indexed for checks

  // Writes bindings() (all of them, sorted; not called for a store in
  // memory) to the file, then runs `apply` under the exclusive lock. When
  // only the final sync of the directory fails, the new file is in place, so
  // `apply` still runs (memory says what the file says) before the
  // KEEL_ERR_IO is thrown.
  template <class Bindings, class Apply>
  void persist(Bindings&& bindings, Apply&& apply);
  void load();

  const std::string path_;
  const std::set<std::string, std::less<>> super_users_;  // transparent: no allocation per check
  const bool allow_everyone_if_no_acl_found_;

  std::unique_ptr<Index> index_;
  mutable WriterFirstMutex mu_;  // shared: reading index_; exclusive: changing it
  std::mutex write_mu_;          // serialises add/remove, from reading the index to writing the file
};

}  // namespace keel::acl
