#include "coordinator/standalone/memory_store.hpp"

#include <algorithm>
#include <set>

namespace keel::coordinator {

using keel::sdk::CoordCompare;
using keel::sdk::CoordKeyValue;
using keel::sdk::CoordOp;
using keel::sdk::CoordRange;

MemoryStore::MemoryStore(size_t history_limit) : history_limit_(history_limit) {}

CoordRange MemoryStore::range(const std::string& key, bool prefix) const {
  CoordRange r;
  r.revision = revision_;
  const auto add = [&r](const std::string& k, const Entry& e) {
    r.kvs.push_back(CoordKeyValue{k, e.value, e.create_revision, e.mod_revision});
  };
  if (!prefix) {
    if (const auto it = entries_.find(key); it != entries_.end()) add(it->first, it->second);
    return r;
  }
  for (auto it = entries_.lower_bound(key); it != entries_.end() && it->first.starts_with(key); ++it) {
    add(it->first, it->second);
  }
  return r;
}

namespace {

// etcd refuses a transaction that puts a key twice, or puts and deletes it;
// refusing the same keeps the two coordinators interchangeable.
void check_written_once(const std::vector<CoordOp>& ops) {
  std::set<std::string> put;
  std::set<std::string> deleted;
  for (const CoordOp& op : ops) {
    const bool is_put = op.type == KEEL_COORD_OP_PUT;
    if (put.count(op.key) != 0 || (is_put && deleted.count(op.key) != 0)) {
      throw keel::sdk::Error(
          KEEL_ERR_INVALID_ARGUMENT,
          "txn: key '" + op.key +
              "' is written twice in one transaction; write each key once (as etcd requires)");
    }
    (is_put ? put : deleted).insert(op.key);
  }
}

}  // namespace

MemoryStore::Outcome MemoryStore::txn(const std::vector<CoordCompare>& compares,
                                      const std::vector<CoordOp>& ops, int64_t session) {
  check_written_once(ops);
  for (const CoordCompare& c : compares) {
    const auto it = entries_.find(c.key);
    int64_t actual = 0;  // an absent key's revisions are 0
    if (it != entries_.end()) {
      actual = c.target == KEEL_COORD_CMP_MOD_REVISION ? it->second.mod_revision : it->second.create_revision;
    }
    if (actual != c.revision) return Outcome{false, revision_, {}};
  }
  Outcome out;
  out.succeeded = true;
  out.changes = apply(ops, session);
  out.revision = revision_;
  return out;
}

std::vector<CoordEvent> MemoryStore::end_session(int64_t session) {
  std::vector<CoordOp> deletes;
  for (const auto& [key, entry] : entries_) {
    if (entry.session == session) deletes.push_back(CoordOp{KEEL_COORD_OP_DELETE, key, {}, false});
  }
  return apply(deletes, 0);
}

std::vector<CoordEvent> MemoryStore::apply(const std::vector<CoordOp>& ops, int64_t session) {
  const int64_t rev = revision_ + 1;
  std::vector<CoordEvent> changes;
  for (const CoordOp& op : ops) {
    if (op.type == KEEL_COORD_OP_PUT) {
      Entry& e = entries_[op.key];
      if (e.create_revision == 0) e.create_revision = rev;
      e.mod_revision = rev;
      e.value = op.value;
      e.session = op.session_bound ? session : 0;
      changes.push_back(CoordEvent{KEEL_COORD_EVENT_PUT, {op.key, e.value, e.create_revision, rev}, rev});
    } else if (const auto it = entries_.find(op.key); it != entries_.end()) {
      entries_.erase(it);
      changes.push_back(CoordEvent{KEEL_COORD_EVENT_DELETE, {op.key, {}, 0, rev}, rev});
    }
  }
  if (!changes.empty()) {
    revision_ = rev;
    remember(changes);
  }
  return changes;
}

void MemoryStore::remember(const std::vector<CoordEvent>& changes) {
  history_.insert(history_.end(), changes.begin(), changes.end());
  // Whole revisions go, oldest first, never the one just made.
  while (history_.size() > history_limit_ && history_.front().revision < revision_) {
    const int64_t dropped = history_.front().revision;
    while (!history_.empty() && history_.front().revision == dropped) history_.pop_front();
    history_start_ = dropped + 1;
  }
}

std::optional<std::vector<CoordEvent>> MemoryStore::changes_since(int64_t from) const {
  if (from < history_start_) return std::nullopt;
  const auto first = std::lower_bound(history_.begin(), history_.end(), from,
                                      [](const CoordEvent& e, int64_t rev) { return e.revision < rev; });
  return std::vector<CoordEvent>(first, history_.end());
}

}  // namespace keel::coordinator
