// One session of the etcd coordinator: an etcd lease, renewed by the
// keeper's own thread every TTL/3 until it is stopped or lost.
//
// Lost: no renewal succeeded for a whole TTL, counted from when the last
// successful renewal was sent (so never later than etcd's own count), or
// etcd answered that the lease is gone (TTL 0, "lease not found"). The
// keeper then calls on_lost once, on its own thread, and renews no more;
// the coordinator tells every watch (SESSION_LOST) and the broker opens a
// new session. A failed renewal is retried (every 250 ms at most) until
// then, each call bounded by the request timeout and by the time left; the
// loss is declared the moment the TTL runs out, not at the next retry.
//
// Threads: constructed, stopped and destroyed by the coordinator (broker's
// cluster or main thread); renewals and on_lost on the keeper's thread.
// on_lost must not call back into the keeper.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <keel/plugin.hpp>
#include <mutex>
#include <string>
#include <thread>

#include "coordinator/etcd/etcd_client.hpp"

namespace keel::coordinator {

class LeaseKeeper {
 public:
  using LostCallback = std::function<void(int64_t lease, const std::string& why)>;

  // Grants a lease of ttl_seconds (etcd may grant more) and starts renewing
  // it. Blocks up to the client's timeout; throws etcd::EtcdError. The
  // client must outlive the keeper.
  LeaseKeeper(const keel::etcd::EtcdClient& client, const keel::sdk::Host& host, int64_t ttl_seconds,
              LostCallback on_lost);
  // Stops renewing (joins); does not revoke the lease.
  ~LeaseKeeper();
  LeaseKeeper(const LeaseKeeper&) = delete;
  LeaseKeeper& operator=(const LeaseKeeper&) = delete;

  int64_t id() const { return id_; }
  // As etcd granted it.
  int64_t ttl_seconds() const { return ttl_seconds_; }
  bool lost() const { return lost_.load(); }

 private:
  void run();

  const keel::etcd::EtcdClient& client_;
  keel::sdk::Host host_;
  LostCallback on_lost_;
  std::chrono::steady_clock::time_point granted_at_;  // when the grant was sent
  int64_t id_ = 0;
  int64_t ttl_seconds_ = 0;
  std::atomic<bool> lost_{false};

  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;  // last: started once the lease is granted
};

}  // namespace keel::coordinator
