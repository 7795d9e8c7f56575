#include "time_retention.hpp"

#include <string>

namespace keel::retention {
namespace {

// Kafka falls back to the file's mtime when the segment holds no record
// timestamp. If neither is known the segment's age is unknown: keep it.
int64_t newest_timestamp(const keel_segment_info& s) {
  return s.max_timestamp >= 0 ? s.max_timestamp : s.last_modified_ms;
}

}  // namespace

TimeRetention::TimeRetention(const keel::sdk::Host&, const keel::sdk::Config& config)
    : retention_ms_(config.get_int("retention_ms", kDefaultRetentionMs)) {
  if (retention_ms_ != kKeepForever && retention_ms_ <= 0) {
    throw keel::sdk::Error(KEEL_ERR_INVALID_ARGUMENT,
                           "retention 'time': retention_ms must be -1 (keep forever) or > 0, got " +
                               std::to_string(retention_ms_));
  }
}

size_t TimeRetention::select(const keel::sdk::Segments& segments, int64_t now_ms) {
  const size_t count = segments.size();
  if (retention_ms_ == kKeepForever || count == 0) return 0;
  int64_t cutoff = 0;
  // A clock so far in the past that the cutoff underflows cannot expire anything.
  if (__builtin_sub_overflow(now_ms, retention_ms_, &cutoff)) return 0;
  size_t expired = 0;
  // Only a prefix may go (as in Kafka): deleting past a segment that must
  // stay would leave a hole in the offsets.
  while (expired + 1 < count && newest_timestamp(segments[expired]) >= 0 &&
         newest_timestamp(segments[expired]) < cutoff) {
    ++expired;
  }
  return expired;
}

}  // namespace keel::retention
