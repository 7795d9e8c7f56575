// Coordinator `etcd`: the cluster's state in etcd (v3, through its JSON
// gateway: etcd_client.hpp), under a key prefix of its own.
//
//   keys      the ABI's key k is prefix + k in etcd, and back;
//   sessions  an etcd lease (lease_keeper.hpp) of session_ttl_ms rounded up
//             to whole seconds; session-bound puts carry it, so etcd deletes
//             those keys when the lease is revoked (open_session, destroy)
//             or expires;
//   range     a range read; txn an etcd txn (compares on create/mod
//             revision, puts and deletes), so revisions are etcd's own;
//   watch     a resuming etcd watch (resuming_watch.hpp) whose events the
//             dispatcher (watch_dispatcher.hpp) hands to the broker.
//
// create reads the settings only: nothing connects before open_session,
// range, txn or watch. Errors: UNAVAILABLE when etcd cannot be reached in
// time (the broker retries), naming the endpoint(s), the call and the key
// (etcd_failure.hpp); every exception is turned into a status here or by
// the SDK adapter, never crosses the C ABI.
//
// Threads: create and destroy on the broker's main thread; open_session,
// range, txn, watch and unwatch on its cluster thread (they lock what they
// share, so tests may call them from other threads too). Own threads: the
// lease keeper, one supervisor and one stream per watch, the dispatcher.
// SESSION_LOST comes from the keeper's thread through the dispatcher, like
// every event.
#pragma once

#include <cstdint>
#include <keel/coordinator.hpp>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "coordinator/common/watch_dispatcher.hpp"
#include "coordinator/etcd/etcd_client.hpp"
#include "coordinator/etcd/etcd_settings.hpp"
#include "coordinator/etcd/lease_keeper.hpp"
#include "coordinator/etcd/resuming_watch.hpp"

namespace keel::coordinator {

class EtcdCoordinator final : public keel::sdk::Coordinator {
 public:
  EtcdCoordinator(const keel::sdk::Host& host, const keel::sdk::Config& config);
  // Stops every watch, ends the session (revokes its lease, so its keys
  // vanish at once when etcd is reachable; else within its TTL).
  ~EtcdCoordinator() override;

  keel::sdk::CoordSession open_session() override;
  keel::sdk::CoordRange range(const std::string& key, bool prefix) override;
  keel::sdk::CoordTxnResult txn(const std::vector<keel::sdk::CoordCompare>& compares,
                                const std::vector<keel::sdk::CoordOp>& ops) override;
  uint64_t watch(const std::string& prefix, int64_t from_revision, keel_coord_event_callback cb,
                 void* user) override;
  void unwatch(uint64_t watch_id) override;

 private:
  // Runs fn, turning what it throws into sdk::Error naming the call, the
  // key and the endpoints.
  template <class Fn>
  auto guarded(const char* call, const std::string& key, Fn&& fn);
  // With session_mu_ held: stops renewing the session's lease and revokes it.
  void end_session();

  keel::sdk::Host host_;
  const EtcdSettings settings_;
  const keel::etcd::EtcdClient client_;
  WatchDispatcher dispatcher_;

  std::mutex session_mu_;
  std::unique_ptr<LeaseKeeper> session_;

  std::mutex watches_mu_;
  std::map<uint64_t, std::unique_ptr<ResumingWatch>> watches_;
};

}  // namespace keel::coordinator
