// Collects what an etcd Watch delivers (on the watch's thread) so that a
// test can wait, with a deadline, until what it expects has arrived.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <vector>

#include "coordinator/etcd/etcd_watch.hpp"

namespace keel::test {

class WatchCollector {
 public:
  keel::etcd::Watch::Callback callback() {
    return [this](const keel::etcd::WatchUpdate& u) {
      std::lock_guard lock(mu_);
      updates_.push_back(u);
      cv_.notify_all();
    };
  }

  // True once pred(updates so far) holds, false at the deadline.
  bool wait_for(const std::function<bool(const std::vector<keel::etcd::WatchUpdate>&)>& pred,
                std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return pred(updates_); });
  }

  bool wait_kind(keel::etcd::WatchUpdate::Kind kind,
                 std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    return wait_for(
        [kind](const auto& us) {
          for (const auto& u : us)
            if (u.kind == kind) return true;
          return false;
        },
        timeout);
  }

  std::vector<keel::etcd::WatchEvent> events() {
    std::lock_guard lock(mu_);
    std::vector<keel::etcd::WatchEvent> all;
    for (const auto& u : updates_)
      if (u.kind == keel::etcd::WatchUpdate::Kind::Events)
        all.insert(all.end(), u.events.begin(), u.events.end());
    return all;
  }

  std::vector<keel::etcd::WatchUpdate> updates() {
    std::lock_guard lock(mu_);
    return updates_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<keel::etcd::WatchUpdate> updates_;
};

}  // namespace keel::test
