// The store of the standalone coordinator, in memory: keys with their value,
// create_revision and mod_revision, the session each is bound to, one
// store-wide revision, and the recent history of changes that watches
// replay from a past revision. Its rules are etcd's, so that the broker
// sees the same store whichever coordinator runs:
//  - the revision starts at 1 and moves by one per transaction that changes
//    something; every change of one transaction has that revision;
//  - a compare of a key's create or mod revision with 0 holds when the key
//    is absent;
//  - a PUT always changes the key (its mod_revision), a DELETE of an absent
//    key changes nothing;
//  - a transaction may not write one key twice (etcd: "duplicate key given
//    in txn request").
//
// Not thread-safe: StandaloneCoordinator guards it with its lock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <keel/coordinator.hpp>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "coordinator/common/watch_dispatcher.hpp"

namespace keel::coordinator {

class MemoryStore {
 public:
  // history_limit: how many changes the history keeps (at least one
  // transaction's worth, whatever the limit).
  explicit MemoryStore(size_t history_limit);

  int64_t revision() const { return revision_; }
  keel::sdk::CoordRange range(const std::string& key, bool prefix) const;

  struct Outcome {
    bool succeeded = false;
    int64_t revision = 0;
    std::vector<CoordEvent> changes;  // PUT/DELETE events, in op order
  };
  // Applies `ops` when every compare holds. Session-bound puts bind their
  // key to `session` (the caller checked that there is one). Throws
  // sdk::Error(INVALID_ARGUMENT) for a key written twice.
  Outcome txn(const std::vector<keel::sdk::CoordCompare>& compares,
              const std::vector<keel::sdk::CoordOp>& ops, int64_t session);
  // Deletes every key bound to `session`, as one transaction.
  std::vector<CoordEvent> end_session(int64_t session);

  // The changes from revision `from` on, or nullopt when some of them are no
  // longer in the history.
  std::optional<std::vector<CoordEvent>> changes_since(int64_t from) const;

 private:
  struct Entry {
    std::string value;
    int64_t create_revision = 0;
    int64_t mod_revision = 0;
    int64_t session = 0;  // 0: not session-bound
  };

  // Applies the ops at revision_ + 1 (the caller checked them); the events.
  std::vector<CoordEvent> apply(const std::vector<keel::sdk::CoordOp>& ops, int64_t session);
  void remember(const std::vector<CoordEvent>& changes);

  std::map<std::string, Entry> entries_;  // sorted by key, as range answers
  int64_t revision_ = 1;
  size_t history_limit_;
  std::deque<CoordEvent> history_;  // oldest first
  // Every change with a revision >= this is in history_.
  int64_t history_start_ = 1;
};

}  // namespace keel::coordinator
