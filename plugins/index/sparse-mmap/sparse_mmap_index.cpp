#include "sparse_mmap_index.hpp"

#include <algorithm>
#include <limits>
#include <mutex>
#include <string>

#include "big_endian.hpp"

namespace keel::index {
namespace {

constexpr size_t kEntrySize = 8;
constexpr int64_t kMaxField = std::numeric_limits<uint32_t>::max();

std::string index_path(const keel_index_open_args& args) {
  if (args.path_prefix == nullptr || *args.path_prefix == '\0') {
    throw sdk::Error(KEEL_ERR_INVALID_ARGUMENT, "sparse-mmap index: open called without a path prefix");
  }
  return std::string(args.path_prefix) + ".index";
}

}  // namespace

SparseMmapIndex::SparseMmapIndex(const sdk::Host& host, const keel_index_open_args& args)
    : host_(host),
      base_offset_(args.base_offset),
      settings_(IndexSettings::read(host, args.config, "sparse-mmap index of '" + index_path(args) + "'")),
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
}

SparseMmapIndex::~SparseMmapIndex() {
  if (removed_) return;
  try {
    // As Kafka: a closed index holds no preallocated tail.
    file_.reshape(count_, count_);
  } catch (const std::exception& e) {
    host_.warn(e.what());
  }
}

SparseMmapIndex::Entry SparseMmapIndex::read(size_t i) const {
  const uint8_t* p = file_.slot(i);
  return {load_be32(p), load_be32(p + 4)};
}

void SparseMmapIndex::write(size_t i, Entry e) {
  uint8_t* p = file_.slot(i);
  store_be32(p, static_cast<uint32_t>(e.relative_offset));
  store_be32(p + 4, static_cast<uint32_t>(e.position));
}

size_t SparseMmapIndex::count_valid(int64_t log_size, std::string* why) const {
  Entry prev{-1, 0};
  size_t n = 0;
  for (; n < file_.slots(); ++n) {
    const Entry e = read(n);
    if (e.relative_offset == 0 && e.position == 0) break;
    if (e.relative_offset <= prev.relative_offset || e.position <= prev.position) {
      *why = "(relative offset " + std::to_string(e.relative_offset) + ", position " +
             std::to_string(e.position) + ") does not follow the entry before it";
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

int64_t SparseMmapIndex::recovery_position() {
  std::shared_lock lock(mu_);
  return last_position();
}

void SparseMmapIndex::on_append(const keel_batch_info& batch) {
  if (batch.position < 0 || batch.base_offset < base_offset_) {
    throw sdk::Error(KEEL_ERR_INVALID_ARGUMENT, "sparse-mmap index '" + file_.path() +
                                                    "': batch at position " + std::to_string(batch.position) +
                                                    " with base offset " + std::to_string(batch.base_offset) +
                                                    " lies outside the segment (base offset " +
                                                    std::to_string(base_offset_) + ")");
  }
  std::unique_lock lock(mu_);
  const int64_t last = last_position();
  // Byte positions measure "bytes appended since the last entry", which
  // makes the decision the same on a replay as it was live.
  if (batch.position <= last || batch.position - last < settings_.interval_bytes) return;
  const int64_t relative = batch.base_offset - base_offset_;
  // Unrepresentable batches go unindexed: lookups stay correct, they only
  // scan further. Offsets must grow for the binary search to work.
  if (relative > kMaxField || batch.position > kMaxField) return;
  if (count_ > 0 && relative <= read(count_ - 1).relative_offset) return;
  file_.reserve(count_ + 1);
  write(count_, {relative, batch.position});
  ++count_;
}

keel_index_entry SparseMmapIndex::lookup_offset(int64_t offset) {
  std::shared_lock lock(mu_);
  keel_index_entry out{sizeof(keel_index_entry), base_offset_, 0, -1};
  if (offset < base_offset_) return out;
  const int64_t target = std::min(offset - base_offset_, kMaxField);
  // First entry beyond the target; the one before it is the answer.
  size_t lo = 0, hi = count_;
  while (lo < hi) {
    const size_t mid = lo + (hi - lo) / 2;
    if (read(mid).relative_offset <= target) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  if (lo == 0) return out;
  const Entry e = read(lo - 1);
  out.offset = base_offset_ + e.relative_offset;
  out.position = e.position;
  return out;
}

void SparseMmapIndex::truncate(int64_t log_size) {
  std::unique_lock lock(mu_);
  size_t lo = 0, hi = count_;
  while (lo < hi) {
    const size_t mid = lo + (hi - lo) / 2;
    if (read(mid).position < log_size) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  if (lo == count_) return;
  count_ = lo;
  file_.reshape(count_, sealed_ ? count_ : std::max(file_.slots(), count_ + 1));
}

void SparseMmapIndex::flush() {
  std::shared_lock lock(mu_);
  file_.sync(count_);
}

void SparseMmapIndex::seal() {
  std::unique_lock lock(mu_);
  file_.reshape(count_, count_);
  sealed_ = true;
}

int64_t SparseMmapIndex::entry_count() {
  std::shared_lock lock(mu_);
  return static_cast<int64_t>(count_);
}

void SparseMmapIndex::remove_files() {
  std::unique_lock lock(mu_);
  file_.remove();
  removed_ = true;
}

}  // namespace keel::index
