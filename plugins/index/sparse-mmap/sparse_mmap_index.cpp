#include "sparse_mmap_index.hpp"

#include <algorithm>
#include <mutex>
#include <string>

namespace keel::index {

SparseMmapIndex::SparseMmapIndex(const sdk::Host& host, const keel_index_open_args& args)
    : TypedEntryIndex(host, args, "sparse-mmap", ".index") {}

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
  if (relative > kMaxField32 || batch.position > kMaxField32) return;
  if (count_ > 0 && relative <= read(count_ - 1).relative_offset) return;
  push_back({relative, batch.position});
}

keel_index_entry SparseMmapIndex::lookup_offset(int64_t offset) {
  std::shared_lock lock(mu_);
  keel_index_entry out{.struct_size = sizeof(keel_index_entry),
                       .reserved = 0,
                       .offset = base_offset_,
                       .position = 0,
                       .timestamp = -1};
  if (offset < base_offset_) return out;
  const int64_t target = std::min(offset - base_offset_, kMaxField32);
  // First entry beyond the target; the one before it is the answer.
  const size_t lo = partition_point([&](size_t i) { return read(i).relative_offset <= target; });
  if (lo == 0) return out;
  const OffsetEntry e = read(lo - 1);
  out.offset = base_offset_ + e.relative_offset;
  out.position = e.position;
  return out;
}

}  // namespace keel::index
