#include "size_retention.hpp"

#include <string>

namespace keel::retention {

SizeRetention::SizeRetention(const keel::sdk::Host&, const keel::sdk::Config& config)
    : retention_bytes_(config.get_int("retention_bytes", kUnlimited)) {
  if (retention_bytes_ < kUnlimited) {
    throw keel::sdk::Error(KEEL_ERR_INVALID_ARGUMENT,
                           "retention 'size': retention_bytes must be -1 (unlimited) or >= 0, got " +
                               std::to_string(retention_bytes_));
  }
}

size_t SizeRetention::select(const keel::sdk::Segments& segments, int64_t) {
  const size_t count = segments.size();
  if (retention_bytes_ == kUnlimited || count == 0) return 0;
  // The active segment counts towards the total even though it never goes.
  int64_t total = 0;
  for (size_t i = 0; i < count; ++i) total += segments[i].size_bytes;
  int64_t excess = total - retention_bytes_;
  size_t selected = 0;
  // As Kafka: a segment goes only if the partition is still at or above the
  // limit without it, so the log never shrinks below retention_bytes.
  while (selected + 1 < count && excess - segments[selected].size_bytes >= 0) {
    excess -= segments[selected].size_bytes;
    ++selected;
  }
  return selected;
}

}  // namespace keel::retention
