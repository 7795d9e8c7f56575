#include "coordinator/etcd/lease_keeper.hpp"

#include <algorithm>
#include <keel/thread_name.hpp>
#include <utility>

#include "coordinator/etcd/etcd_failure.hpp"

namespace keel::coordinator {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

LeaseKeeper::LeaseKeeper(const keel::etcd::EtcdClient& client, const keel::sdk::Host& host,
                         int64_t ttl_seconds, LostCallback on_lost)
    : client_(client), host_(host), on_lost_(std::move(on_lost)), granted_at_(Clock::now()) {
  const keel::etcd::LeaseGrant grant = client_.lease_grant(ttl_seconds);
  id_ = grant.id;
  ttl_seconds_ = grant.ttl_seconds > 0 ? grant.ttl_seconds : ttl_seconds;
  thread_ = std::thread([this] {
    keel::name_this_thread("etcd-lease");
    run();
  });
}

LeaseKeeper::~LeaseKeeper() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void LeaseKeeper::run() {
  const auto ttl = std::chrono::duration_cast<Clock::duration>(std::chrono::seconds(ttl_seconds_));
  const auto period = ttl / 3;
  const auto retry = std::min<Clock::duration>(period, milliseconds(250));
  const std::string lease = "lease " + std::to_string(id_);
  auto last_ok = granted_at_;
  auto next = last_ok + period;
  std::string last_error;  // of the renewals failing since the last success; empty: none
  std::string why;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      if (wake_.wait_until(lock, next, [this] { return stopping_; })) return;
    }
    const auto sent = Clock::now();
    const auto left = last_ok + ttl - sent;
    if (left <= Clock::duration::zero()) {
      why = "no renewal succeeded for its TTL of " + std::to_string(ttl_seconds_) +
            " s; last error: " + (last_error.empty() ? "the renewal did not start in time" : last_error);
      break;
    }
    try {
      const auto timeout = std::min(client_.default_timeout(), std::chrono::ceil<milliseconds>(left));
      if (client_.lease_keepalive_once(id_, timeout) == 0) {
        why = "etcd answered that it has expired";
        break;
      }
      if (!last_error.empty()) host_.info("coordinator etcd: " + lease + " renewed again");
      last_error.clear();
      last_ok = sent;
      next = sent + period;
    } catch (const std::exception& e) {
      if (const auto* etcd_error = dynamic_cast<const keel::etcd::EtcdError*>(&e);
          etcd_error != nullptr && lease_not_found(*etcd_error)) {
        why = std::string("etcd no longer knows it: ") + e.what();
        break;
      }
      if (last_error.empty()) {
        host_.warn("coordinator etcd: renewing " + lease +
                   " failed; retrying until its TTL runs out: " + e.what());
      }
      last_error = e.what();
      // Not past the end of the TTL: the lease is declared lost when its
      // TTL runs out, never a retry interval later (etcd may have expired
      // it, and another broker taken over, by then).
      next = std::min(Clock::now() + retry, last_ok + ttl);
    }
  }
  lost_.store(true);
  host_.warn("coordinator etcd: session " + lease + " lost: " + why);
  on_lost_(id_, why);
}

}  // namespace keel::coordinator
