#include "storage/spare_maker.hpp"

#include <spdlog/spdlog.h>

#include <exception>
#include <keel/thread_name.hpp>

namespace keel {

PartitionLog::SpareHooks SpareMaker::hooks_for(const std::shared_ptr<PartitionLog>& log) {
  {
    // Served from the start: a clean start keeps spares (recycled or
    // prepared) that a full disk may want before the partition asks.
    std::lock_guard lock(mu_);
    std::erase_if(served_, [](const auto& w) { return w.expired(); });
    served_.push_back(log);
  }
  PartitionLog::SpareHooks hooks;
  hooks.wanted = [this, weak = std::weak_ptr<PartitionLog>(log)] { want(weak); };
  hooks.no_space = [this] { release_all(); };
  return hooks;
}

void SpareMaker::want(std::weak_ptr<PartitionLog> log) noexcept { enqueue(std::move(log), false); }

void SpareMaker::release_all() noexcept { enqueue({}, true); }

bool SpareMaker::enqueue(std::weak_ptr<PartitionLog> log, bool release) noexcept {
  try {
    {
      std::lock_guard lock(mu_);
      if (stopped_) return false;
      if (!thread_.joinable()) {
        thread_ = std::thread([this] {
          name_this_thread("spare-maker");
          run();
        });
      }
      if (release) {
        // One release covers every write that failed before it starts:
        // each failed produce asks, and the disk stays full a while.
        if (release_pending_) return true;
        release_pending_ = true;
        // The allocation in progress stops at its next chunk.
        cancel_.store(true);
      }
      queue_.push_back({std::move(log), release});
      ++queued_;
    }
    wake_.notify_all();
    return true;
  } catch (const std::exception& e) {
    // Called under a partition's append lock: a spare only saves appends
    // time, so its request is dropped, never the append.
    spdlog::warn("spare segment request dropped: {}", e.what());
    return false;
  }
}

void SpareMaker::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    stopped_ = true;
    done_ += queue_.size();
    queue_.clear();
  }
  cancel_.store(true);
  wake_.notify_all();
  done_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void SpareMaker::drain() {
  std::unique_lock lock(mu_);
  const uint64_t target = queued_;
  done_cv_.wait(lock, [&] { return done_ >= target; });
}

void SpareMaker::release_served() {
  std::vector<std::weak_ptr<PartitionLog>> served;
  {
    std::lock_guard lock(mu_);
    served = served_;
    // Requests still queued (made before this job started) would make
    // spares again on a disk just found full: dropped.
    for (auto& job : queue_) job.log.reset();
    cancel_.store(false);
    release_pending_ = false;
  }
  int64_t freed = 0;
  for (const auto& weak : served) {
    if (auto log = weak.lock()) freed += log->release_spares();
  }
  if (freed > 0) spdlog::warn("disk full: deleted spare segment files of every partition ({} bytes)", freed);
}

void SpareMaker::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    wake_.wait(lock, [&] { return stopped_ || !queue_.empty(); });
    if (stopped_) return;
    Job job = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    try {
      if (job.release) {
        release_served();
      } else if (auto log = job.log.lock()) {
        log->prepare_spare(&cancel_);
      }
    } catch (const std::exception& e) {
      // A spare saves appends time; without one the roll makes a hole.
      spdlog::warn("spare segment maker: {}", e.what());
    }
    lock.lock();
    ++done_;
    done_cv_.notify_all();
  }
}

}  // namespace keel
