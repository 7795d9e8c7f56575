#include "coordinator/standalone/standalone_coordinator.hpp"

#include <utility>

namespace keel::coordinator {

using keel::sdk::CoordCompare;
using keel::sdk::CoordOp;
using keel::sdk::CoordRange;
using keel::sdk::CoordSession;
using keel::sdk::CoordTxnResult;

StandaloneSettings StandaloneSettings::read(const keel::sdk::Config& config) {
  StandaloneSettings s;
  s.session_ttl_ms = config.get_int("session_ttl_ms", s.session_ttl_ms);
  if (s.session_ttl_ms <= 0) {
    throw keel::sdk::Error(
        KEEL_ERR_INVALID_ARGUMENT,
        "coordinator standalone: session_ttl_ms must be > 0, got " + std::to_string(s.session_ttl_ms));
  }
  return s;
}

StandaloneCoordinator::StandaloneCoordinator(const keel::sdk::Host&, const keel::sdk::Config& config)
    : StandaloneCoordinator(StandaloneSettings::read(config)) {}

StandaloneCoordinator::StandaloneCoordinator(const StandaloneSettings& settings)
    : settings_(settings), store_(settings.history_limit) {}

StandaloneCoordinator::~StandaloneCoordinator() {
  try {
    std::lock_guard lock(mu_);
    if (session_ != 0) publish(store_.end_session(session_));
    session_ = 0;
  } catch (...) {
    // Out of memory while ending the session: the store goes with the
    // instance anyway.
  }
  dispatcher_.stop();
}

void StandaloneCoordinator::publish(const std::vector<CoordEvent>& changes) {
  if (changes.empty()) return;
  for (const auto& [id, w] : watches_) {
    std::vector<CoordEvent> matching;
    for (const CoordEvent& e : changes) {
      if (e.revision >= w.from_revision && e.kv.key.starts_with(w.prefix)) matching.push_back(e);
    }
    dispatcher_.post(id, std::move(matching));
  }
}

CoordSession StandaloneCoordinator::open_session() {
  std::lock_guard lock(mu_);
  if (session_ != 0) publish(store_.end_session(session_));
  session_ = ++last_session_;
  return CoordSession{session_, settings_.session_ttl_ms};
}

CoordRange StandaloneCoordinator::range(const std::string& key, bool prefix) {
  std::lock_guard lock(mu_);
  return store_.range(key, prefix);
}

CoordTxnResult StandaloneCoordinator::txn(const std::vector<CoordCompare>& compares,
                                          const std::vector<CoordOp>& ops) {
  std::lock_guard lock(mu_);
  if (session_ == 0) {
    for (const CoordOp& op : ops) {
      if (op.type == KEEL_COORD_OP_PUT && op.session_bound) {
        throw keel::sdk::Error(KEEL_ERR_UNAVAILABLE, "coordinator standalone: txn: session-bound put of '" +
                                                         op.key +
                                                         "' without a session; call open_session first");
      }
    }
  }
  MemoryStore::Outcome out = store_.txn(compares, ops, session_);
  publish(out.changes);
  return CoordTxnResult{out.succeeded, out.revision};
}

uint64_t StandaloneCoordinator::watch(const std::string& prefix, int64_t from_revision,
                                      keel_coord_event_callback cb, void* user) {
  std::lock_guard lock(mu_);
  const uint64_t id = dispatcher_.add(cb, user);
  const int64_t from = from_revision > 0 ? from_revision : store_.revision() + 1;
  auto past = store_.changes_since(from);
  if (!past) {
    dispatcher_.post(id, {CoordEvent{KEEL_COORD_EVENT_RESYNC, {}, store_.revision()}});
    return id;
  }
  std::vector<CoordEvent> matching;
  for (CoordEvent& e : *past) {
    if (e.kv.key.starts_with(prefix)) matching.push_back(std::move(e));
  }
  dispatcher_.post(id, std::move(matching));
  watches_.emplace(id, LiveWatch{prefix, from});
  return id;
}

void StandaloneCoordinator::unwatch(uint64_t watch_id) {
  {
    std::lock_guard lock(mu_);
    watches_.erase(watch_id);
  }
  // Outside mu_: it may wait for a running callback, and txns need not.
  dispatcher_.remove(watch_id);
}

}  // namespace keel::coordinator
