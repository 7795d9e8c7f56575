#include "storage/flusher.hpp"

#include <spdlog/spdlog.h>

#include "common/error.hpp"
#include "observability/metrics.hpp"

namespace keel {

Flusher::Flusher(const Clock* clock, Metrics* metrics) : clock_(clock), metrics_(metrics) {}

Flusher::~Flusher() { stop(); }

void Flusher::start() {
  thread_ = std::thread([this] { run(); });
}

void Flusher::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::lock_guard lock(mu_);
  stopped_ = true;
}

void Flusher::rolled(const std::shared_ptr<PartitionLog>& log) {
  if (!log->claim_sealed_sync()) return;
  {
    std::lock_guard lock(mu_);
    // Stopping: close() syncs what is left.
    if (!stopping_) sealed_[log.get()] = log;
  }
  cv_.notify_one();
}

void Flusher::appended(const std::shared_ptr<PartitionLog>& log, const FlushPolicy& policy, int64_t until,
                       Done done) {
  rolled(log);
  // Every-batch syncs each batch anyway; the others leave dirty pages.
  if (writeback_bytes_ > 0 && policy.mode != FlushMode::EveryBatch &&
      log->claim_write_back(writeback_bytes_)) {
    {
      std::lock_guard lock(mu_);
      if (!stopping_) writeback_[log.get()] = log;
    }
    cv_.notify_one();
  }
  if (policy.mode == FlushMode::Os) {
    if (done) done(KEEL_OK, "");
    return;
  }
  {
    std::unique_lock lock(mu_);
    if (stopped_ || stopping_) {
      // Nothing will flush later (the thread may already have taken its
      // last look at dirty_), so flush now.
      lock.unlock();
      try {
        log->flush();
        if (done) done(KEEL_OK, "");
      } catch (const Error& e) {
        if (done) done(e.code(), e.what());
      }
      return;
    }
    Entry& e = dirty_[log.get()];
    if (!e.log) {
      e.log = log;
      e.policy = policy;
    }
    if (done) e.waiters.push_back({until, std::move(done)});
  }
  if (policy.mode == FlushMode::EveryBatch) cv_.notify_one();
}

void Flusher::forget(const PartitionLog* log) {
  std::vector<Waiter> waiters;
  {
    std::lock_guard lock(mu_);
    writeback_.erase(log);
    sealed_.erase(log);
    auto it = dirty_.find(log);
    if (it == dirty_.end()) return;
    waiters = std::move(it->second.waiters);
    dirty_.erase(it);
  }
  for (auto& w : waiters) w.done(KEEL_ERR_NOT_FOUND, "partition deleted before its data was flushed");
}

bool Flusher::due(const Entry& e, int64_t now) const {
  if (e.policy.mode == FlushMode::EveryBatch) return true;
  return now - e.log->last_flush_ms() >= e.policy.interval_ms ||
         e.log->unflushed_messages() >= e.policy.messages;
}

void Flusher::run() {
  std::unique_lock lock(mu_);
  while (true) {
    const int64_t now = clock_->now_ms();
    std::vector<Entry> work;
    int64_t wait_ms = 1000;
    for (auto it = dirty_.begin(); it != dirty_.end();) {
      if (stopping_ || due(it->second, now)) {
        work.push_back(std::move(it->second));
        it = dirty_.erase(it);
      } else {
        wait_ms = std::min(wait_ms, std::max<int64_t>(1, it->second.log->last_flush_ms() +
                                                             it->second.policy.interval_ms - now));
        ++it;
      }
    }
    std::map<const PartitionLog*, std::shared_ptr<PartitionLog>> writeback;
    writeback.swap(writeback_);
    std::map<const PartitionLog*, std::shared_ptr<PartitionLog>> sealed;
    sealed.swap(sealed_);
    if (work.empty() && writeback.empty() && sealed.empty()) {
      if (stopping_) return;
      // Interval policies also count messages; check those at least every
      // few milliseconds while anything is pending.
      if (!dirty_.empty()) wait_ms = std::min<int64_t>(wait_ms, 5);
      cv_.wait_for(lock, std::chrono::milliseconds(wait_ms));
      continue;
    }
    const SyncHook hook = sync_hook_;
    lock.unlock();
    for (auto& e : work) {
      keel_status status = KEEL_OK;
      std::string message;
      int64_t flushed = 0;
      const int64_t t0 = monotonic_ns();
      try {
        if (hook) hook(*e.log);
        flushed = e.log->flush();
      } catch (const Error& err) {
        status = err.code();
        message = err.what();
        spdlog::error("{}: flush failed: {}", e.log->name(), message);
      }
      if (metrics_) {
        metrics_->histogram_observe("keel_flush_seconds", "", static_cast<double>(monotonic_ns() - t0) / 1e9);
      }
      std::vector<Waiter> later;
      for (auto& w : e.waiters) {
        if (status != KEEL_OK) {
          w.done(status, message);
        } else if (w.until <= flushed) {
          w.done(KEEL_OK, "");
        } else {
          later.push_back(std::move(w));
        }
      }
      if (!later.empty()) {
        // Appended after the sync started: goes with the next one.
        std::lock_guard relock(mu_);
        Entry& again = dirty_[e.log.get()];
        if (!again.log) {
          again.log = e.log;
          again.policy = e.policy;
        }
        // Ahead of waiters that arrived meanwhile: acks keep append order.
        again.waiters.insert(again.waiters.begin(), std::make_move_iterator(later.begin()),
                             std::make_move_iterator(later.end()));
      }
    }
    // After the syncs: a producer may be waiting on one of those.
    for (auto& [_, log] : writeback) log->write_back();
    // Last: nobody waits on these alone (a flush above synced the sealed
    // segments of the partitions it flushed), and a whole segment's sync
    // can take long.
    for (auto& [_, log] : sealed) {
      try {
        log->sync_sealed();
      } catch (const Error& err) {
        // The segment stays queued in the log and claimable: the next
        // maintenance pass, flush, roll or close tries again, and the
        // flushed offset stays below it.
        spdlog::error("{}: sync of a sealed segment failed: {}", log->name(), err.what());
      }
    }
    lock.lock();
  }
}

}  // namespace keel
