#include "cleaner.hpp"

#include <algorithm>
#include <keel/codec.hpp>
#include <keel/record_batch.hpp>
#include <limits>
#include <optional>
#include <unordered_map>
#include <vector>

#include "io_throttle.hpp"
#include "key_offset_map.hpp"

namespace keel::compaction {
namespace {

namespace kb = keel::batch;
using keel::codec::FilteredBatch;

// Thrown inside a pass when the broker shuts down: the open rewrite is
// aborted by its destructor and the pass is redone at the next start.
struct Stopped {};

int64_t newest_time(const keel_segment_info& s) {
  return s.max_timestamp >= 0 ? s.max_timestamp : s.last_modified_ms;
}

// A replacement segment may hold at most this many bytes (the topic's
// segment_bytes) and, because indexes store offsets relative to the base,
// span fewer than 2^31 offsets.
constexpr int64_t kDefaultGroupBytes = 1LL << 30;
constexpr int64_t kMaxGroupSpan = std::numeric_limits<int32_t>::max();

struct Group {
  size_t first = 0;
  size_t count = 0;
};

std::vector<Group> group_segments(const sdk::LogRewriter& log, size_t end, int64_t max_bytes) {
  std::vector<Group> groups;
  size_t i = 0;
  while (i < end) {
    Group g{i, 1};
    int64_t bytes = log.segment(i).size_bytes;
    while (i + g.count < end) {
      const auto& next = log.segment(i + g.count);
      if (bytes + next.size_bytes > max_bytes ||
          next.next_offset - log.segment(i).base_offset > kMaxGroupSpan) {
        break;
      }
      bytes += next.size_bytes;
      ++g.count;
    }
    groups.push_back(g);
    i += g.count;
  }
  return groups;
}

class Pass {
 public:
  Pass(const Settings& settings, const keel_log_rewriter& table, int64_t now_ms)
      : s_(settings),
        log_(table),
        now_(now_ms),
        map_(settings.buffer_bytes),
        throttle_(settings.io_max_bytes_per_second, [this] { return log_.stopping(); }) {}

  PassResult run(bool force, bool tombstones_due) {
    const size_t n = log_.segment_count();
    size_t cleanable = 0;
    while (cleanable < n && old_enough(log_.segment(cleanable))) ++cleanable;
    const int64_t clean = log_.clean_offset();
    size_t first_dirty = 0;
    while (first_dirty < cleanable && log_.segment(first_dirty).next_offset <= clean) ++first_dirty;
    if (cleanable == 0 || (first_dirty == cleanable && !tombstones_due)) return r_;
    int64_t dirty = 0;
    int64_t total = 0;
    for (size_t i = 0; i < cleanable; ++i) {
      total += log_.segment(i).size_bytes;
      if (i >= first_dirty) dirty += log_.segment(i).size_bytes;
    }
    const double ratio = total > 0 ? static_cast<double>(dirty) / static_cast<double>(total) : 0.0;
    if (!force && !tombstones_due && (dirty == 0 || ratio < s_.min_cleanable_dirty_ratio)) return r_;
    r_.ran = true;
    try {
      build_map(first_dirty, cleanable, clean);
      rewrite(clean);
    } catch (const Stopped&) {
      r_.stopped = true;
      r_.finished = false;
    }
    return r_;
  }

 private:
  // Cleanable: a closed segment whose newest record is older than the lag.
  // With no lag every closed segment is (as in Kafka), whatever its
  // timestamps say: producers' clocks may run ahead of the broker's. An
  // empty segment (all its records cleaned away) holds nothing to protect;
  // its file time is that of its last rewrite, which must not hold back
  // the segments after it.
  bool old_enough(const keel_segment_info& s) const {
    if (s_.min_compaction_lag_ms == 0 || s.size_bytes == 0) return true;
    return newest_time(s) <= now_ - s_.min_compaction_lag_ms;
  }

  void read(size_t i, const std::function<bool(const uint8_t*, size_t)>& visit) {
    log_.read_segment(i, [&](const uint8_t* batch, size_t len) {
      r_.bytes_read += static_cast<int64_t>(len);
      if (!throttle_.consume(static_cast<int64_t>(len))) throw Stopped{};
      return visit(batch, len);
    });
  }

  void build_map(size_t first_dirty, size_t cleanable, int64_t clean) {
    // A pass run only to drop expired tombstones maps nothing new.
    r_.map_end = std::max(clean, log_.segment(cleanable - 1).next_offset);
    bool full = false;
    for (size_t i = 0; i < cleanable && !full; ++i) {
      read(i, [&](const uint8_t* data, size_t len) {
        const kb::Header h = *kb::parse_header(data, len);
        if (h.producer_id >= 0) {
          auto& last = last_batch_of_producer_[h.producer_id];
          last = std::max(last, h.base_offset);
        }
        if (i < first_dirty || h.last_offset() < clean || h.control() || h.records_count == 0) return true;
        for (const auto& rec : codec::decode_batch(data, len)) {
          if (rec.offset < clean || !rec.key) continue;
          if (!map_.put(*rec.key, rec.offset)) {
            if (map_.size() == 0) {
              throw sdk::Error(KEEL_ERR_INVALID_ARGUMENT,
                               "the key of the record at offset " + std::to_string(rec.offset) + " (" +
                                   std::to_string(rec.key->size()) +
                                   " bytes) does not fit in the cleaner's map; raise "
                                   "plugins.compaction.buffer_bytes (now " +
                                   std::to_string(s_.buffer_bytes) + ")");
            }
            r_.map_end = rec.offset;
            full = true;
            return false;
          }
        }
        return true;
      });
    }
    r_.finished = !full;
    r_.keys = static_cast<int64_t>(map_.size());
    r_.map_bytes = map_.used_bytes();
  }

  // Whether an emptied batch stays as a bare header: only the newest batch
  // of an idempotent producer, which carries its last sequence number.
  bool producer_needs(const kb::Header& h) const {
    if (h.producer_id < 0) return false;
    auto it = last_batch_of_producer_.find(h.producer_id);
    return it != last_batch_of_producer_.end() && it->second == h.base_offset;
  }

  void rewrite(int64_t clean) {
    // Every segment holding an offset below map_end is rewritten.
    size_t end = 0;
    while (end < log_.segment_count() && log_.segment(end).base_offset < r_.map_end) ++end;
    int64_t max_bytes = log_.segment_bytes() > 0 ? log_.segment_bytes() : kDefaultGroupBytes;
    const auto groups = group_segments(log_, end, max_bytes);
    for (size_t g = 0; g < groups.size(); ++g) {
      auto rw = log_.begin(groups[g].first, groups[g].count);
      changed_ = groups[g].count > 1;  // merging segments is a change
      for (size_t i = groups[g].first; i < groups[g].first + groups[g].count; ++i) {
        const int64_t expires_at = newest_time(log_.segment(i)) + s_.delete_retention_ms;
        r_.bytes_in += log_.segment(i).size_bytes;
        read(i, [&](const uint8_t* data, size_t len) {
          copy_batch(rw, data, len, expires_at);
          return true;
        });
      }
      const bool last = g + 1 == groups.size();
      // Only the last group completes the range the map covers; a group that
      // came out the same is not swapped in (no syncs, no renames), unless
      // it must record the new clean point.
      if (!changed_ && (!last || r_.map_end == clean)) {
        rw.abort();
        r_.segments_unchanged += groups[g].count;
        continue;
      }
      rw.commit(last ? r_.map_end : clean);
      r_.segments_in += groups[g].count;
      ++r_.segments_out;
    }
  }

  // expires_at: when the tombstones of this batch's segment may go.
  void copy_batch(sdk::LogRewriter::Rewrite& rw, const uint8_t* data, size_t len, int64_t expires_at) {
    const bool tombstones_expire = expires_at < now_;
    const kb::Header h = *kb::parse_header(data, len);
    const auto write = [&](const uint8_t* bytes, size_t n) {
      rw.write(bytes, n);
      r_.bytes_out += static_cast<int64_t>(n);
      if (!throttle_.consume(static_cast<int64_t>(n))) throw Stopped{};
    };
    if (h.control() || h.base_offset >= r_.map_end) return write(data, len);
    if (h.records_count == 0) {
      if (producer_needs(h)) return write(data, len);
      changed_ = true;
      return;
    }
    int64_t tombstones = 0;
    FilteredBatch f = codec::filter_batch(
        data, len,
        [&](const kb::Record& rec) {
          if (rec.offset >= r_.map_end || !rec.key) return true;
          if (map_.newest(*rec.key) > rec.offset) return false;
          if (!rec.value) {
            if (tombstones_expire) {
              ++tombstones;
              return false;
            }
            // Kept for now: the partition is due for a pass when it expires.
            if (r_.tombstones_expire_at < 0 || expires_at + 1 < r_.tombstones_expire_at) {
              r_.tombstones_expire_at = expires_at + 1;
            }
          }
          return true;
        },
        producer_needs(h));
    r_.records_removed += static_cast<int64_t>(f.removed);
    r_.tombstones_removed += tombstones;
    if (f.outcome == FilteredBatch::Outcome::KeptAll) return write(data, len);
    changed_ = true;
    if (!f.batch.empty()) write(reinterpret_cast<const uint8_t*>(f.batch.data()), f.batch.size());
  }

  const Settings& s_;
  sdk::LogRewriter log_;
  int64_t now_;
  KeyOffsetMap map_;
  IoThrottle throttle_;
  std::unordered_map<int64_t, int64_t> last_batch_of_producer_;
  bool changed_ = false;  // the group being rewritten differs from its input
  PassResult r_;
};

}  // namespace

PassResult clean_partition(const Settings& settings, const keel_log_rewriter& table, int64_t now_ms,
                           bool force, bool tombstones_due) {
  return Pass(settings, table, now_ms).run(force, tombstones_due);
}

}  // namespace keel::compaction
