#include "storage/flusher.hpp"

#include <spdlog/spdlog.h>

#include <keel/thread_name.hpp>

#include "common/error.hpp"
#include "observability/metrics.hpp"

namespace keel {

Flusher::Flusher(const Clock* clock, Metrics* metrics) : clock_(clock), metrics_(metrics) {}

Flusher::~Flusher() { stop(); }

void Flusher::start() {
  thread_ = std::thread([this] {
    name_this_thread("flusher");
    run();
  });
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
                       Done done, SyncOn sync_on) {
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
  // Not behind a whole sealed segment's sync: that is the flusher's.
  const bool may_lead = sync_on == SyncOn::CallerIfIdle && done && policy.mode == FlushMode::EveryBatch &&
                        !log->segment_awaiting_sync();
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
    if (may_lead && !syncing_.contains(log.get()) && !dirty_.contains(log.get())) {
      syncing_.insert(log.get());
      const SyncHook hook = sync_hook_;
      lock.unlock();
      lead(log, policy, until, std::move(done), hook);
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

Flusher::Synced Flusher::sync(PartitionLog& log, const SyncHook& hook) {
  Synced out;
  const int64_t t0 = monotonic_ns();
  try {
    if (hook) hook(log);
    out.flushed = log.flush();
  } catch (const Error& err) {
    out.status = err.code();
    out.message = err.what();
    spdlog::error("{}: flush failed: {}", log.name(), out.message);
  } catch (const std::exception& e) {
    // Out of memory, say: a leader must not unwind past its answers.
    out.status = KEEL_ERR_INTERNAL;
    out.message = std::string("flush failed: ") + e.what();
    spdlog::error("{}: {}", log.name(), out.message);
  }
  if (metrics_) {
    metrics_->histogram_observe("keel_flush_seconds", "", static_cast<double>(monotonic_ns() - t0) / 1e9);
  }
  return out;
}

void Flusher::lead(const std::shared_ptr<PartitionLog>& log, const FlushPolicy& policy, int64_t until,
                   Done done, const SyncHook& hook) {
  // However this ends, the partition stops syncing and the flusher looks
  // at what waits (stop() waits for that); still marked while answering,
  // so that stop() returns only once every waiter is answered.
  struct Release {
    Flusher& flusher;
    const PartitionLog* log;
    ~Release() {
      std::lock_guard lock(flusher.mu_);
      flusher.syncing_.erase(log);
      if (flusher.stopping_ || flusher.dirty_.contains(log)) flusher.cv_.notify_one();
    }
  } release{*this, log.get()};
  const auto [status, message, flushed] = sync(*log, hook);
  if (metrics_) metrics_->counter_add("keel_flushes_on_request_thread_total", "", 1);
  // Waiters that came while the sync ran (followers) and that it covered;
  // the rest, and the appends without a waiter, go to the flusher thread.
  std::vector<Waiter> covered;
  {
    std::lock_guard lock(mu_);
    if (status == KEEL_OK && until > flushed) {
      // Not expected (the sync reads the end after this append); the
      // flusher answers it rather than a wrong answer here.
      Entry& e = dirty_[log.get()];
      if (!e.log) {
        e.log = log;
        e.policy = policy;
      }
      e.waiters.insert(e.waiters.begin(), Waiter{until, std::move(done)});
      done = nullptr;
    }
    auto it = dirty_.find(log.get());
    if (status == KEEL_OK && it != dirty_.end()) {
      std::vector<Waiter> rest;
      for (auto& w : it->second.waiters) (w.until <= flushed ? covered : rest).push_back(std::move(w));
      it->second.waiters = std::move(rest);
    }
  }
  // A callback that throws must not stop the others, nor reach the caller,
  // which would answer its request a second time.
  const auto answer = [&](Done& d, keel_status s, const std::string& m) {
    try {
      d(s, m);
    } catch (const std::exception& e) {
      spdlog::error("{}: answering a producer after its sync failed: {}", log->name(), e.what());
    }
  };
  if (status != KEEL_OK) {
    if (done) answer(done, status, message);
    return;
  }
  if (done) covered.push_back({until, std::move(done)});
  // Acks in append order.
  std::stable_sort(covered.begin(), covered.end(),
                   [](const Waiter& a, const Waiter& b) { return a.until < b.until; });
  for (auto& w : covered) answer(w.done, KEEL_OK, "");
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
      if (syncing_.contains(it->first)) {
        ++it;  // its leader wakes us when done
      } else if (stopping_ || due(it->second, now)) {
        syncing_.insert(it->first);
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
      if (stopping_ && syncing_.empty()) return;
      // Interval policies also count messages; check those at least every
      // few milliseconds while anything is pending.
      if (!dirty_.empty()) wait_ms = std::min<int64_t>(wait_ms, 5);
      cv_.wait_for(lock, std::chrono::milliseconds(wait_ms));
      continue;
    }
    const SyncHook hook = sync_hook_;
    lock.unlock();
    for (auto& e : work) {
      const auto [status, message, flushed] = sync(*e.log, hook);
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
      std::lock_guard relock(mu_);
      syncing_.erase(e.log.get());
      if (!later.empty()) {
        // Appended after the sync started: goes with the next one.
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
