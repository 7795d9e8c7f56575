// Coordinator `standalone`: the store of a broker that is its own cluster
// (the default when no cluster is configured), in memory (memory_store.hpp).
// Nothing survives the broker, which is all a one-broker cluster needs: its
// registration and controller keys are session-bound anyway.
//
// Sessions: one at a time; open_session ends the previous one, deleting its
// session-bound keys (DELETE events). The store lives in the broker's own
// process, so a session cannot be lost: it never expires and no watch ever
// gets SESSION_LOST. The TTL it reports is session_ttl_ms, for the broker's
// logs and timing.
//
// Threads: open_session, range, txn, watch and unwatch come from the
// broker's cluster thread (the tests call them from several threads: every
// one takes mu_); create and destroy from its main thread. Watch callbacks
// run on the dispatcher's thread (watch_dispatcher.hpp). Changes are queued
// to the dispatcher while mu_ is held, so every watch gets them in revision
// order whatever thread made them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <keel/coordinator.hpp>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "coordinator/common/watch_dispatcher.hpp"
#include "coordinator/standalone/memory_store.hpp"

namespace keel::coordinator {

struct StandaloneSettings {
  int64_t session_ttl_ms = 6000;
  // Changes kept for watches that start in the past (not a config key: a
  // one-broker cluster never starts a watch far behind).
  size_t history_limit = 100000;

  // Reads session_ttl_ms (> 0); throws sdk::Error(INVALID_ARGUMENT) naming the key.
  static StandaloneSettings read(const keel::sdk::Config& config);
};

class StandaloneCoordinator final : public keel::sdk::Coordinator {
 public:
  StandaloneCoordinator(const keel::sdk::Host& host, const keel::sdk::Config& config);
  explicit StandaloneCoordinator(const StandaloneSettings& settings);
  // Ends the session and stops the dispatcher.
  ~StandaloneCoordinator() override;

  keel::sdk::CoordSession open_session() override;
  keel::sdk::CoordRange range(const std::string& key, bool prefix) override;
  keel::sdk::CoordTxnResult txn(const std::vector<keel::sdk::CoordCompare>& compares,
                                const std::vector<keel::sdk::CoordOp>& ops) override;
  // from_revision <= 0: from the next revision on. From a revision whose
  // changes the history no longer holds: RESYNC (revision: the store's), and
  // nothing more.
  uint64_t watch(const std::string& prefix, int64_t from_revision, keel_coord_event_callback cb,
                 void* user) override;
  void unwatch(uint64_t watch_id) override;

 private:
  // With mu_ held: queues `changes` to every live watch whose prefix they match.
  void publish(const std::vector<CoordEvent>& changes);

  const StandaloneSettings settings_;
  WatchDispatcher dispatcher_;
  std::mutex mu_;
  MemoryStore store_;
  int64_t session_ = 0;  // the open session's id; 0 before the first
  int64_t last_session_ = 0;
  // Live watches by dispatcher id. A watch that got RESYNC is no longer here
  // (it gets nothing more) but stays in the dispatcher until unwatch.
  struct LiveWatch {
    std::string prefix;
    int64_t from_revision = 0;  // a watch from the future skips what comes before
  };
  std::map<uint64_t, LiveWatch> watches_;
};

}  // namespace keel::coordinator
