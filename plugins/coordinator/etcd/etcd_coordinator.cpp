#include "coordinator/etcd/etcd_coordinator.hpp"

#include <utility>

#include "coordinator/etcd/etcd_failure.hpp"

namespace keel::coordinator {

using keel::sdk::CoordCompare;
using keel::sdk::CoordKeyValue;
using keel::sdk::CoordOp;
using keel::sdk::CoordRange;
using keel::sdk::CoordSession;
using keel::sdk::CoordTxnResult;

EtcdCoordinator::EtcdCoordinator(const keel::sdk::Host& host, const keel::sdk::Config& config)
    : host_(host),
      settings_(EtcdSettings::read(config)),
      client_(settings_.endpoints, settings_.request_timeout()) {}

EtcdCoordinator::~EtcdCoordinator() {
  // The broker unwatches before destroy; whatever it left is stopped here.
  std::map<uint64_t, std::unique_ptr<ResumingWatch>> left;
  {
    std::lock_guard lock(watches_mu_);
    left.swap(watches_);
  }
  dispatcher_.stop();
  left.clear();  // stops and joins each
  try {
    std::lock_guard lock(session_mu_);
    end_session();
  } catch (const std::exception& e) {
    host_.warn(std::string("coordinator etcd: ending the session at destroy: ") + e.what());
  } catch (...) {
    // Nothing may leave a destructor; the lease expires within its TTL.
  }
}

template <class Fn>
auto EtcdCoordinator::guarded(const char* call, const std::string& key, Fn&& fn) {
  try {
    return fn();
  } catch (const keel::sdk::Error&) {
    throw;
  } catch (const keel::etcd::EtcdError& e) {
    throw etcd_failure(e, settings_.endpoint_list());
  } catch (const std::exception& e) {
    throw keel::sdk::Error(KEEL_ERR_INTERNAL, "coordinator etcd at " + settings_.endpoint_list() + ": " +
                                                  call + " on " + key + ": " + e.what());
  }
}

void EtcdCoordinator::end_session() {
  if (!session_) return;
  const int64_t lease = session_->id();
  session_.reset();  // renews no more
  try {
    client_.lease_revoke(lease);
  } catch (const keel::etcd::EtcdError& e) {
    if (lease_not_found(e)) return;  // expired already: its keys are gone
    host_.warn("coordinator etcd: could not revoke lease " + std::to_string(lease) +
               "; its session-bound keys vanish when its TTL runs out: " + e.what());
  }
}

CoordSession EtcdCoordinator::open_session() {
  return guarded("open_session", settings_.prefix, [&] {
    std::lock_guard lock(session_mu_);
    end_session();
    // On the keeper's thread; the dispatcher tells every watch.
    auto on_lost = [this](int64_t, const std::string&) {
      dispatcher_.post_all(CoordEvent{KEEL_COORD_EVENT_SESSION_LOST, {}, 0});
    };
    session_ = std::make_unique<LeaseKeeper>(client_, host_, settings_.lease_ttl_seconds(), on_lost);
    host_.info("coordinator etcd: session open as lease " + std::to_string(session_->id()) +
               " with a TTL of " + std::to_string(session_->ttl_seconds()) + " s at " +
               settings_.endpoint_list());
    return CoordSession{session_->id(), session_->ttl_seconds() * 1000};
  });
}

CoordRange EtcdCoordinator::range(const std::string& key, bool prefix) {
  const std::string full = settings_.prefix + key;
  return guarded("range", full, [&] {
    keel::etcd::RangeResult r = prefix ? client_.range_prefix(full) : client_.range(full);
    CoordRange out;
    out.revision = r.revision;
    out.kvs.reserve(r.kvs.size());
    for (auto& kv : r.kvs) {
      out.kvs.push_back(CoordKeyValue{kv.key.substr(settings_.prefix.size()), std::move(kv.value),
                                      kv.create_revision, kv.mod_revision});
    }
    return out;
  });
}

CoordTxnResult EtcdCoordinator::txn(const std::vector<CoordCompare>& compares,
                                    const std::vector<CoordOp>& ops) {
  const std::string key = settings_.prefix + (!compares.empty() ? compares.front().key
                                              : !ops.empty()    ? ops.front().key
                                                                : std::string());
  return guarded("txn", key, [&] {
    int64_t lease = 0;
    for (const CoordOp& op : ops) {
      if (op.type != KEEL_COORD_OP_PUT || !op.session_bound) continue;
      std::lock_guard lock(session_mu_);
      if (!session_) {
        throw keel::sdk::Error(KEEL_ERR_UNAVAILABLE, "coordinator etcd: txn: session-bound put of " +
                                                         settings_.prefix + op.key +
                                                         " without a session; call open_session first");
      }
      if (session_->lost()) {
        throw keel::sdk::Error(KEEL_ERR_UNAVAILABLE, "coordinator etcd: txn: session-bound put of " +
                                                         settings_.prefix + op.key + ": the session (lease " +
                                                         std::to_string(session_->id()) +
                                                         ") was lost; open a new session");
      }
      lease = session_->id();
      break;
    }
    std::vector<keel::etcd::Compare> cmps;
    cmps.reserve(compares.size());
    for (const CoordCompare& c : compares) {
      const auto equal = keel::etcd::Compare::Result::Equal;
      cmps.push_back(c.target == KEEL_COORD_CMP_MOD_REVISION
                         ? keel::etcd::Compare::mod_revision(settings_.prefix + c.key, equal, c.revision)
                         : keel::etcd::Compare::create_revision(settings_.prefix + c.key, equal, c.revision));
    }
    std::vector<keel::etcd::Op> writes;
    writes.reserve(ops.size());
    for (const CoordOp& op : ops) {
      writes.push_back(op.type == KEEL_COORD_OP_PUT ? keel::etcd::Op::put(settings_.prefix + op.key, op.value,
                                                                          op.session_bound ? lease : 0)
                                                    : keel::etcd::Op::delete_key(settings_.prefix + op.key));
    }
    const keel::etcd::TxnResult r = client_.txn(cmps, writes);
    return CoordTxnResult{r.succeeded, r.revision};
  });
}

uint64_t EtcdCoordinator::watch(const std::string& prefix, int64_t from_revision,
                                keel_coord_event_callback cb, void* user) {
  const std::string full = settings_.prefix + prefix;
  return guarded("watch", full, [&] {
    const uint64_t id = dispatcher_.add(cb, user);
    try {
      auto w = std::make_unique<ResumingWatch>(client_, host_, dispatcher_, id, full, settings_.prefix.size(),
                                               from_revision);
      std::lock_guard lock(watches_mu_);
      watches_.emplace(id, std::move(w));
    } catch (...) {
      dispatcher_.remove(id);
      throw;
    }
    return id;
  });
}

void EtcdCoordinator::unwatch(uint64_t watch_id) {
  std::unique_ptr<ResumingWatch> w;
  {
    std::lock_guard lock(watches_mu_);
    const auto it = watches_.find(watch_id);
    if (it != watches_.end()) {
      w = std::move(it->second);
      watches_.erase(it);
    }
  }
  // First the callback (the ABI's promise), then the streams: a stream
  // still delivering meanwhile posts to a watch the dispatcher forgot.
  dispatcher_.remove(watch_id);
  w.reset();  // stops and joins its supervisor and stream
}

}  // namespace keel::coordinator
