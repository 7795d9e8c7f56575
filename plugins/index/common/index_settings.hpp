// Settings shared by the built-in index plugins, read from the index's own
// TOML table.
#pragma once

#include <cstdint>
#include <keel/plugin.hpp>
#include <string>

namespace keel::index {

struct IndexSettings {
  // Log bytes between two entries; 0 indexes every batch.
  int64_t interval_bytes = 4096;
  // Preallocated size of the active segment's index file (as Kafka's
  // segment.index.bytes); the file grows beyond it if needed.
  int64_t max_index_bytes = 10 * 1024 * 1024;

  // `what` names the index in messages, e.g. "sparse-mmap index of /d/0001".
  static IndexSettings read(const sdk::Host& host, const keel_config* config, const std::string& what) {
    sdk::Config cfg(host.raw(), config);
    IndexSettings s;
    s.interval_bytes = cfg.get_int("interval_bytes", s.interval_bytes);
    s.max_index_bytes = cfg.get_int("max_index_bytes", s.max_index_bytes);
    if (s.interval_bytes < 0) {
      throw sdk::Error(
          KEEL_ERR_INVALID_ARGUMENT,
          what + ": interval_bytes is " + std::to_string(s.interval_bytes) + "; set it to 0 or more");
    }
    if (s.max_index_bytes <= 0) {
      throw sdk::Error(KEEL_ERR_INVALID_ARGUMENT, what + ": max_index_bytes is " +
                                                      std::to_string(s.max_index_bytes) + "; set it above 0");
    }
    return s;
  }
};

}  // namespace keel::index
