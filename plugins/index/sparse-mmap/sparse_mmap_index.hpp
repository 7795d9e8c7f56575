// Kafka-style sparse offset index: one 8-byte entry (relative offset,
// position; big-endian uint32s) per interval_bytes of log, in an mmap'ed
// `<segment>.index` file.
//
// The first batch (position 0) is never indexed, so every entry has a
// position > 0 and an all-zero slot marks the end of the entries. Whether a
// batch gets an entry depends only on its position and the last entry's
// position, so replaying batches after a restart re-creates exactly the
// entries a live run would have written, and replaying indexed ones is a
// no-op.
//
// Threads: a std::shared_mutex guards the mapping and the entry count;
// lookups, flush and entry_count take it shared, everything that writes or
// remaps takes it exclusively.
#pragma once

#include <cstdint>
#include <keel/plugin.hpp>
#include <shared_mutex>

#include "entry_file.hpp"
#include "index_settings.hpp"

namespace keel::index {

class SparseMmapIndex final : public sdk::Index {
 public:
  SparseMmapIndex(const sdk::Host& host, const keel_index_open_args& args);
  ~SparseMmapIndex() override;

  int64_t recovery_position() override;
  void on_append(const keel_batch_info& batch) override;
  keel_index_entry lookup_offset(int64_t offset) override;
  void truncate(int64_t log_size) override;
  void flush() override;
  void seal() override;
  int64_t entry_count() override;
  void remove_files() override;

 private:
  struct Entry {
    int64_t relative_offset;
    int64_t position;
  };

  Entry read(size_t i) const;
  void write(size_t i, Entry e);
  // Counts the trustworthy entries at the start of the file and says why
  // the first untrusted one was rejected (empty when it was the end mark).
  size_t count_valid(int64_t log_size, std::string* why) const;
  int64_t last_position() const { return count_ == 0 ? 0 : read(count_ - 1).position; }

  sdk::Host host_;
  int64_t base_offset_;
  IndexSettings settings_;
  mutable std::shared_mutex mu_;
  EntryFile file_;
  size_t count_ = 0;
  bool sealed_ = false;
  bool removed_ = false;
};

}  // namespace keel::index
