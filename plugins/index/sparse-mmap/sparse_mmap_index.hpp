// Kafka-style sparse offset index: one OffsetEntry per interval_bytes of
// log, in an mmap'ed `<segment>.index` file.
//
// The first batch (position 0) is never indexed, so every entry has a
// position > 0 and an all-zero slot marks the end of the entries. Whether a
// batch gets an entry depends only on its position and the last entry's
// position, so replaying batches after a restart re-creates exactly the
// entries a live run would have written, and replaying indexed ones is a
// no-op.
//
// Threads: as EntryIndex.
#pragma once

#include <cstdint>
#include <keel/plugin.hpp>

#include "common/typed_entry_index.hpp"
#include "offset_entry.hpp"

namespace keel::index {

class SparseMmapIndex final : public TypedEntryIndex<OffsetEntry> {
 public:
  SparseMmapIndex(const sdk::Host& host, const keel_index_open_args& args);

  void on_append(const keel_batch_info& batch) override;
  keel_index_entry lookup_offset(int64_t offset) override;
};

}  // namespace keel::index
