// The cleaner's key -> newest offset map, within a fixed memory budget.
//
// Keys are stored whole rather than hashed (Kafka keeps 16-byte MD5 digests):
// a collision would silently delete a live record, and exact keys make that
// impossible at the price of more bytes per entry. The budget counts an
// estimate of what each entry costs in an unordered_map.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

namespace keel::compaction {

class KeyOffsetMap {
 public:
  explicit KeyOffsetMap(int64_t budget_bytes) : budget_(budget_bytes) {}

  // Records `offset` as the newest for `key`. False, with nothing changed,
  // when a new key would exceed the budget.
  bool put(std::string_view key, int64_t offset) {
    auto it = map_.find(key);
    if (it != map_.end()) {
      if (offset > it->second) it->second = offset;
      return true;
    }
    const int64_t cost = entry_cost(key.size());
    if (used_ + cost > budget_) return false;
    map_.emplace(std::string(key), offset);
    used_ += cost;
    return true;
  }

  // Newest offset of `key`, or -1 if it is not in the map.
  int64_t newest(std::string_view key) const {
    auto it = map_.find(key);
    return it == map_.end() ? -1 : it->second;
  }

  size_t size() const { return map_.size(); }
  int64_t used_bytes() const { return used_; }

  // bench/compaction_bench.cpp measured ~76 bytes of peak memory per short
  // key: a node (next pointer, std::string, offset, cached hash) of 56 bytes
  // plus malloc's header, and one bucket pointer; the rest is headroom for a
  // rehash, when the old and new bucket arrays both exist. A key too long
  // for the small-string buffer adds its own heap block.
  static int64_t entry_cost(size_t key_size) {
    constexpr int64_t kFixed = 88;
    return kFixed + (key_size > 15 ? static_cast<int64_t>(key_size) + 1 + 16 : 0);
  }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, int64_t, Hash, std::equal_to<>> map_;
  int64_t budget_;
  int64_t used_ = 0;
};

}  // namespace keel::compaction
