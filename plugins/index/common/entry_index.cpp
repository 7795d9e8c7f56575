#include "common/entry_index.hpp"

#include <algorithm>
#include <mutex>

namespace keel::index {
namespace {

std::string index_path(const keel_index_open_args& args, const EntryLayout& layout) {
  if (args.path_prefix == nullptr || *args.path_prefix == '\0') {
    throw sdk::Error(KEEL_ERR_INVALID_ARGUMENT,
                     std::string(layout.name) + " index: open called without a path prefix");
  }
  return std::string(args.path_prefix) + layout.suffix;
}

}  // namespace

EntryIndex::EntryIndex(const sdk::Host& host, const keel_index_open_args& args, const EntryLayout& layout)
    : layout_(layout),
      host_(host),
      base_offset_(args.base_offset),
      settings_(IndexSettings::read(
          host, args.config, std::string(layout.name) + " index of '" + index_path(args, layout) + "'")),
      file_(index_path(args, layout), layout.entry_size) {
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
  file_.reshape(count_, count_);
  sealed_ = args.writable == 0;
  if (!sealed_) {
    try {
      grow_for(count_ + 1);
    } catch (const sdk::Error& e) {
      // Room ahead is only a head start: on a full disk the index opens
      // without it, and the on_append that needs a slot reports NO_SPACE.
      if (e.code() != KEEL_ERR_NO_SPACE) throw;
    }
  }
}

void EntryIndex::grow_for(size_t needed) {
  const size_t step =
      std::max<size_t>(1, static_cast<size_t>(settings_.max_index_bytes) / layout_.entry_size);
  const size_t page = std::max<size_t>(1, 4096 / layout_.entry_size);
  file_.reserve(needed, std::min(page, step), step);
}

EntryIndex::~EntryIndex() {
  if (removed_) return;
  try {
    // As Kafka: a closed index holds no preallocated tail.
    file_.reshape(count_, count_);
  } catch (const std::exception& e) {
    host_.warn(e.what());
  }
}

size_t EntryIndex::count_valid(int64_t log_size, std::string* why) const {
  size_t n = 0;
  for (; n < file_.slots(); ++n) {
    if (file_.blank(n)) break;
    *why = layout_.out_of_order(n == 0 ? nullptr : file_.slot(n - 1), file_.slot(n));
    if (!why->empty()) break;
    const int64_t position = layout_.position(file_.slot(n));
    if (position >= log_size) {
      *why = "points at position " + std::to_string(position) + ", at or beyond the log's end (" +
             std::to_string(log_size) + " bytes)";
      break;
    }
  }
  return n;
}

bool EntryIndex::drop_entries_from(int64_t log_size) {
  const size_t keep = partition_point([&](size_t i) { return layout_.position(file_.slot(i)) < log_size; });
  if (keep == count_) return false;
  if (sealed_) {
    file_.reshape(keep, keep);
  } else {
    // Zeroing in place keeps the file's blocks: growing back later would
    // need disk space, which a cut-back after a failed append may lack.
    file_.clear(keep, count_);
  }
  count_ = keep;
  return true;
}

int64_t EntryIndex::recovery_position() {
  std::shared_lock lock(mu_);
  return last_position();
}

void EntryIndex::truncate(int64_t log_size) {
  std::unique_lock lock(mu_);
  truncated(log_size, drop_entries_from(log_size));
}

void EntryIndex::flush() {
  std::shared_lock lock(mu_);
  file_.sync(count_);
}

void EntryIndex::seal() {
  std::unique_lock lock(mu_);
  file_.reshape(count_, count_);
  sealed_ = true;
}

int64_t EntryIndex::entry_count() {
  std::shared_lock lock(mu_);
  return static_cast<int64_t>(count_);
}

void EntryIndex::remove_files() {
  std::unique_lock lock(mu_);
  file_.remove();
  removed_ = true;
}

}  // namespace keel::index
