// The byte ranges of one file written since its last fsync, kept as disjoint,
// merged [begin, end) intervals so that an fsync copies each changed byte once
// however many small writes touched it.
#pragma once

#include <sys/types.h>

#include <iterator>
#include <map>

namespace lazyfs {

class DirtyRanges {
 public:
  void add(off_t begin, off_t end) {
    if (begin >= end) return;
    // Merge with every range that overlaps or touches [begin, end).
    auto it = ranges_.upper_bound(begin);
    if (it != ranges_.begin() && std::prev(it)->second >= begin) --it;
    while (it != ranges_.end() && it->first <= end) {
      if (it->first < begin) begin = it->first;
      if (it->second > end) end = it->second;
      it = ranges_.erase(it);
    }
    ranges_.emplace(begin, end);
  }

  // A truncation to `size` drops what lies beyond it.
  void clip(off_t size) {
    auto it = ranges_.lower_bound(size);
    ranges_.erase(it, ranges_.end());
    if (!ranges_.empty()) {
      auto last = std::prev(ranges_.end());
      if (last->second > size) last->second = size;
      if (last->first >= last->second) ranges_.erase(last);
    }
  }

  off_t bytes() const {
    off_t n = 0;
    for (const auto& [b, e] : ranges_) n += e - b;
    return n;
  }

  const std::map<off_t, off_t>& ranges() const { return ranges_; }
  void clear() { ranges_.clear(); }

 private:
  std::map<off_t, off_t> ranges_;  // begin -> end
};

}  // namespace lazyfs
