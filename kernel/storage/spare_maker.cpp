#include "storage/spare_maker.hpp"

#include <spdlog/spdlog.h>

#include <exception>
#include <keel/thread_name.hpp>

#include "storage/partition_log.hpp"

namespace keel {

std::function<void()> SpareMaker::hook_for(const std::shared_ptr<PartitionLog>& log) {
  return [this, weak = std::weak_ptr<PartitionLog>(log)] { want(weak); };
}

void SpareMaker::want(std::weak_ptr<PartitionLog> log) {
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    if (!thread_.joinable()) {
      thread_ = std::thread([this] {
        name_this_thread("spare-maker");
        run();
      });
    }
    queue_.push_back(std::move(log));
    ++queued_;
  }
  wake_.notify_all();
}

void SpareMaker::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    stopped_ = true;
    done_ += queue_.size();
    queue_.clear();
  }
  wake_.notify_all();
  done_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void SpareMaker::drain() {
  std::unique_lock lock(mu_);
  const uint64_t target = queued_;
  done_cv_.wait(lock, [&] { return done_ >= target; });
}

void SpareMaker::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    wake_.wait(lock, [&] { return stopped_ || !queue_.empty(); });
    if (stopped_) return;
    std::shared_ptr<PartitionLog> log = queue_.front().lock();
    queue_.pop_front();
    lock.unlock();
    if (log) {
      try {
        log->prepare_spare();
      } catch (const std::exception& e) {
        // A spare saves appends time; without one the roll makes a hole.
        spdlog::warn("{}: preparing a spare segment failed: {}", log->name(), e.what());
      }
    }
    log.reset();  // a partition deleted meanwhile goes here, not under mu_
    lock.lock();
    ++done_;
    done_cv_.notify_all();
  }
}

}  // namespace keel
