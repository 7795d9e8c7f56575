#include "timestamp_index.hpp"

#include <algorithm>
#include <limits>
#include <mutex>

#include "../sparse-mmap/big_endian.hpp"

namespace keel::index {
namespace {

constexpr size_t kEntrySize = 16;
constexpr int64_t kMaxField = std::numeric_limits<uint32_t>::max();

std::string index_path(const keel_index_open_args& args) {
  if (args.path_prefix == nullptr || *args.path_prefix == '\0') {
    throw sdk::Error(KEEL_ERR_INVALID_ARGUMENT, "timestamp index: open called without a path prefix");
  }
  return std::string(args.path_prefix) + ".timeindex";
}

}  // namespace

TimestampIndex::TimestampIndex(const sdk::Host& host, const keel_index_open_args& args)
    : host_(host),
      base_offset_(args.base_offset),
      settings_(IndexSettings::read(host, args.config, "timestamp index of '" + index_path(args) + "'")),
      file_(index_path(args), kEntrySize) {
  std::string why;
  count_ = count_valid(args.log_size, &why);
  const std::string& path = file_.path();
  if (file_.created() && args.log_size > 0) {
    host_.info("index file '" + path + "' was missing for a log of " + std::to_string(args.log_size) +
               " bytes; rebuilding it from the log");
  }
  if (file_.stray_bytes_cut() > 0) {
    host_.info("index file '" + path + "' ended mid-entry; cut " + std::to_string(file_.stray_bytes_cut()) +
               " stray bytes");
  }
  if (!why.empty()) {
    host_.info("index file '" + path + "': kept " + std::to_string(count_) +
               " entries and dropped the rest, " + "because entry " + std::to_string(count_) + " " + why +
               "; they are rebuilt from the log");
  }
  const size_t preallocated = static_cast<size_t>(settings_.max_index_bytes) / kEntrySize;
  file_.reshape(count_, args.writable ? std::max(preallocated, count_ + 1) : count_);
  sealed_ = args.writable == 0;
  restart_from_last_entry();
}

TimestampIndex::~TimestampIndex() {
  if (removed_) return;
  try {
    file_.reshape(count_, count_);
  } catch (const std::exception& e) {
    host_.warn(e.what());
  }
}

TimestampIndex::Entry TimestampIndex::read(size_t i) const {
  const uint8_t* p = file_.slot(i);
  return {static_cast<int64_t>(load_be64(p)), load_be32(p + 8), load_be32(p + 12)};
}

void TimestampIndex::write(size_t i, Entry e) {
  uint8_t* p = file_.slot(i);
  store_be64(p, static_cast<uint64_t>(e.timestamp));
  store_be32(p + 8, static_cast<uint32_t>(e.relative_offset));
  store_be32(p + 12, static_cast<uint32_t>(e.position));
}

size_t TimestampIndex::count_valid(int64_t log_size, std::string* why) const {
  Entry prev{-1, -1, -1};
  size_t n = 0;
  for (; n < file_.slots(); ++n) {
    const Entry e = read(n);
    if (e.timestamp == 0 && e.relative_offset == 0 && e.position == 0) break;
    if (e.timestamp <= prev.timestamp || e.relative_offset <= prev.relative_offset ||
        e.position <= prev.position) {
      *why = "(timestamp " + std::to_string(e.timestamp) + ", relative offset " +
             std::to_string(e.relative_offset) + ", position " + std::to_string(e.position) +
             ") does not follow the entry before it";
      break;
    }
    if (e.position >= log_size) {
      *why = "points at position " + std::to_string(e.position) + ", at or beyond the log's end (" +
             std::to_string(log_size) + " bytes)";
      break;
    }
    prev = e;
  }
  return n;
}

void TimestampIndex::restart_from_last_entry() {
  // Every batch before the last entry's position is below its timestamp, so
  // replaying from that position rebuilds the running maximum exactly.
  max_ = last_entry();
  raised_since_entry_.clear();
  next_position_ = max_.position;
  gap_seen_ = false;
}

size_t TimestampIndex::first_at_or_beyond(int64_t position) const {
  size_t lo = 0, hi = count_;
  while (lo < hi) {
    const size_t mid = lo + (hi - lo) / 2;
    if (read(mid).position < position) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

int64_t TimestampIndex::recovery_position() {
  std::shared_lock lock(mu_);
  return last_entry().position;
}

void TimestampIndex::on_append(const keel_batch_info& batch) {
  if (batch.position < 0 || batch.size < 0 || batch.base_offset < base_offset_) {
    throw sdk::Error(KEEL_ERR_INVALID_ARGUMENT,
                     "timestamp index '" + file_.path() + "': batch at position " +
                         std::to_string(batch.position) + " (size " + std::to_string(batch.size) +
                         ", base offset " + std::to_string(batch.base_offset) +
                         ") lies outside the segment (base offset " + std::to_string(base_offset_) + ")");
  }
  std::unique_lock lock(mu_);
  if (batch.position < next_position_) return;  // already counted in max_
  if (batch.position > next_position_ && !gap_seen_) {
    gap_seen_ = true;
    host_.warn("timestamp index '" + file_.path() + "': expected the batch at position " +
               std::to_string(next_position_) + " but got one at " + std::to_string(batch.position) +
               "; adding no more entries until the segment is reopened (lookups stay correct, only slower)");
  }
  next_position_ = batch.position + batch.size;
  if (gap_seen_) return;

  if (batch.max_timestamp >= 0 && batch.max_timestamp > max_.timestamp) {
    max_ = {batch.max_timestamp, batch.base_offset - base_offset_, batch.position};
    raised_since_entry_.push_back(max_);
  }
  const Entry last = last_entry();
  if (batch.position - last.position < settings_.interval_bytes) return;
  if (max_.timestamp <= last.timestamp) return;
  // Unrepresentable entries are skipped: lookups then start earlier, which
  // is still correct.
  if (max_.relative_offset > kMaxField || max_.position > kMaxField) return;
  if (max_.timestamp == 0 && max_.relative_offset == 0 && max_.position == 0) return;  // see header
  file_.reserve(count_ + 1);
  write(count_, max_);
  ++count_;
  raised_since_entry_.clear();
}

keel_index_entry TimestampIndex::lookup_time(int64_t timestamp) {
  std::shared_lock lock(mu_);
  // First entry at or after `timestamp`; the one before it is the answer.
  size_t lo = 0, hi = count_;
  while (lo < hi) {
    const size_t mid = lo + (hi - lo) / 2;
    if (read(mid).timestamp < timestamp) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  if (lo == 0) return {sizeof(keel_index_entry), base_offset_, 0, -1};
  const Entry e = read(lo - 1);
  return {sizeof(keel_index_entry), base_offset_ + e.relative_offset, e.position, e.timestamp};
}

void TimestampIndex::truncate(int64_t log_size) {
  std::unique_lock lock(mu_);
  const size_t keep = first_at_or_beyond(log_size);
  if (keep < count_) {
    count_ = keep;
    file_.reshape(count_, sealed_ ? count_ : std::max(file_.slots(), count_ + 1));
    // The batches that raised the maximum between the surviving entry and
    // the dropped ones are unknown: start over from the surviving entry.
    restart_from_last_entry();
    return;
  }
  if (gap_seen_) {
    restart_from_last_entry();
    return;
  }
  while (!raised_since_entry_.empty() && raised_since_entry_.back().position >= log_size) {
    raised_since_entry_.pop_back();
  }
  max_ = raised_since_entry_.empty() ? last_entry() : raised_since_entry_.back();
  next_position_ = std::min(next_position_, log_size);
}

void TimestampIndex::flush() {
  std::shared_lock lock(mu_);
  file_.sync(count_);
}

void TimestampIndex::seal() {
  std::unique_lock lock(mu_);
  file_.reshape(count_, count_);
  sealed_ = true;
}

int64_t TimestampIndex::entry_count() {
  std::shared_lock lock(mu_);
  return static_cast<int64_t>(count_);
}

void TimestampIndex::remove_files() {
  std::unique_lock lock(mu_);
  file_.remove();
  removed_ = true;
}

}  // namespace keel::index
