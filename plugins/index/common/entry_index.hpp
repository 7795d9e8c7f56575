// The part of an index that lives in one EntryFile and is the same for every
// built-in layout: opening (path, settings, keeping only the trustworthy
// entries and saying why the rest went), keeping room ahead while the segment
// is active, trimming on seal and close, flush, delete. A plugin adds its entry
// layout, when to add an entry, and its lookups.
//
// Threads: mu_ guards the mapping and all state, the subclass's included;
// lookups, flush and entry_count take it shared, everything that writes or
// remaps exclusively.
#pragma once

#include <cstddef>
#include <cstdint>
#include <keel/plugin.hpp>
#include <shared_mutex>
#include <string>

#include "common/entry_file.hpp"
#include "common/entry_layout.hpp"
#include "common/index_settings.hpp"

namespace keel::index {

class EntryIndex : public sdk::Index {
 public:
  ~EntryIndex() override;

  // Entries are added by position, so a replay from the last entry's
  // position re-creates any the file lacks.
  int64_t recovery_position() override;
  // Drops the entries at or beyond `log_size`, then calls truncated().
  void truncate(int64_t log_size) override;
  void flush() override;
  void seal() override;
  int64_t entry_count() override;
  void remove_files() override;

 protected:
  // Opens `<path prefix><layout.suffix>`, keeps the trustworthy entries at
  // its start and sizes it for the segment's state. Settings are read before
  // the file is opened so that a bad setting leaves no file behind.
  EntryIndex(const sdk::Host& host, const keel_index_open_args& args, const EntryLayout& layout);

  // The first entry for which `below` is false; it must hold for a prefix.
  template <class Below>
  size_t partition_point(Below below) const {
    size_t lo = 0, hi = count_;
    while (lo < hi) {
      const size_t mid = lo + (hi - lo) / 2;
      if (below(mid)) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo;
  }

  // For state a subclass derives from the entries; `dropped` says whether
  // truncate() dropped any. Called with mu_ held exclusively.
  virtual void truncated(int64_t log_size, bool dropped) {
    (void)log_size;
    (void)dropped;
  }

  // Makes room for at least `needed` entries: starting at one page, then
  // doubling, by at most max_index_bytes at a time. Throws NO_SPACE when the
  // disk cannot back even `needed`.
  void grow_for(size_t needed);

  int64_t last_position() const { return count_ == 0 ? 0 : layout_.position(file_.slot(count_ - 1)); }

  EntryLayout layout_;
  sdk::Host host_;
  int64_t base_offset_;
  IndexSettings settings_;
  mutable std::shared_mutex mu_;
  EntryFile file_;
  size_t count_ = 0;
  bool sealed_ = false;
  bool removed_ = false;

 private:
  // Counts the trustworthy entries at the start of the file and says why
  // the first untrusted one was rejected (empty when it was the end mark).
  size_t count_valid(int64_t log_size, std::string* why) const;
  // Says whether any entry went.
  bool drop_entries_from(int64_t log_size);
};

}  // namespace keel::index
