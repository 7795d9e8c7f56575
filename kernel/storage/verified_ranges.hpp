// Which byte ranges of a segment file have had their CRCs checked since the
// broker opened it, so that a read verifies a batch at most once. Bytes the
// broker appended itself were checked before the write; bytes found on disk
// at start-up are checked by the first read that touches them (or by
// recovery after an unclean stop).
//
// Threads: any reader may call covers()/add(). Appends only move the start
// of the verified suffix (`from`), which readers test without a lock; the
// interval set behind it takes a mutex.
#pragma once

#include <atomic>
#include <cstdint>
#include <iterator>
#include <map>
#include <mutex>

namespace keel {

class VerifiedRanges {
 public:
  // Everything at or after `position` is verified (set once at open: what
  // is appended later is checked on the way in).
  void verified_from(int64_t position) { from_.store(position, std::memory_order_release); }

  // The file was cut at `position` (writer only): what is appended there
  // from now on is checked on the way in, like any append.
  void truncate(int64_t position) {
    if (position < from_.load(std::memory_order_acquire)) from_.store(position, std::memory_order_release);
  }

  bool covers(int64_t begin, int64_t end) const {
    if (begin >= from_.load(std::memory_order_acquire)) return true;
    std::lock_guard lock(mu_);
    auto it = ranges_.upper_bound(begin);
    if (it == ranges_.begin()) return false;
    --it;
    return it->first <= begin && it->second >= std::min(end, from_.load());
  }

  void add(int64_t begin, int64_t end) {
    std::lock_guard lock(mu_);
    // Merge with every range that touches [begin, end).
    auto it = ranges_.upper_bound(begin);
    if (it != ranges_.begin() && std::prev(it)->second >= begin) --it;
    while (it != ranges_.end() && it->first <= end) {
      begin = std::min(begin, it->first);
      end = std::max(end, it->second);
      it = ranges_.erase(it);
    }
    if (begin <= 0 && end >= from_.load()) {
      ranges_.clear();
      from_.store(0, std::memory_order_release);
      return;
    }
    // Random reads could fragment the set without bound: keep it small;
    // forgetting a range only costs a second check of its bytes.
    if (ranges_.size() >= kMaxRanges) ranges_.erase(ranges_.begin());
    ranges_.emplace(begin, end);
  }

 private:
  static constexpr size_t kMaxRanges = 1024;
  std::atomic<int64_t> from_{0};
  mutable std::mutex mu_;
  std::map<int64_t, int64_t> ranges_;  // begin -> end, disjoint, not touching
};

}  // namespace keel
