// The `compaction` retention's settings ([topics.<name>.plugins.compaction]),
// named after Kafka's topic configs (see docs/configuration.md).
#pragma once

#include <cstdint>
#include <keel/plugin.hpp>

namespace keel::compaction {

struct Settings {
  // Clean once the not-yet-cleaned part of the closed segments is at least
  // this fraction of them (min.cleanable.dirty.ratio).
  double min_cleanable_dirty_ratio = 0.5;
  // Records younger than this are never compacted (min.compaction.lag.ms),
  // judged by their segment's newest timestamp.
  int64_t min_compaction_lag_ms = 0;
  // How long a tombstone outlives the values it deleted, counted from the
  // newest timestamp of its segment (delete.retention.ms).
  int64_t delete_retention_ms = 24LL * 3600 * 1000;
  // Memory for the key -> newest offset map of one cleaning pass; a log with
  // more distinct new keys than fit is cleaned in several passes
  // (log.cleaner.dedupe.buffer.size).
  int64_t buffer_bytes = 64LL << 20;
  // Bytes read plus written per second by the cleaner; -1 = unlimited
  // (log.cleaner.io.max.bytes.per.second).
  int64_t io_max_bytes_per_second = -1;

  static Settings from(const keel::sdk::Config& config);
};

}  // namespace keel::compaction
