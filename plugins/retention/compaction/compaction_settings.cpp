#include "compaction_settings.hpp"

#include <string>

namespace keel::compaction {

namespace {

[[noreturn]] void refuse(const std::string& key, const std::string& rule, const std::string& got) {
  throw keel::sdk::Error(KEEL_ERR_INVALID_ARGUMENT,
                         "retention 'compaction': " + key + " must be " + rule + ", got " + got);
}

}  // namespace

Settings Settings::from(const keel::sdk::Config& config) {
  Settings s;
  s.min_cleanable_dirty_ratio = config.get_double("min_cleanable_dirty_ratio", s.min_cleanable_dirty_ratio);
  s.min_compaction_lag_ms = config.get_int("min_compaction_lag_ms", s.min_compaction_lag_ms);
  s.delete_retention_ms = config.get_int("delete_retention_ms", s.delete_retention_ms);
  s.buffer_bytes = config.get_int("buffer_bytes", s.buffer_bytes);
  s.io_max_bytes_per_second = config.get_int("io_max_bytes_per_second", s.io_max_bytes_per_second);
  if (!(s.min_cleanable_dirty_ratio >= 0.0 && s.min_cleanable_dirty_ratio <= 1.0)) {
    refuse("min_cleanable_dirty_ratio", "between 0 and 1", std::to_string(s.min_cleanable_dirty_ratio));
  }
  if (s.min_compaction_lag_ms < 0) {
    refuse("min_compaction_lag_ms", ">= 0", std::to_string(s.min_compaction_lag_ms));
  }
  if (s.delete_retention_ms < 0) refuse("delete_retention_ms", ">= 0", std::to_string(s.delete_retention_ms));
  if (s.buffer_bytes < (1 << 16)) {
    refuse("buffer_bytes", ">= 65536 (64 KiB)", std::to_string(s.buffer_bytes));
  }
  if (s.io_max_bytes_per_second == 0 || s.io_max_bytes_per_second < -1) {
    refuse("io_max_bytes_per_second", "-1 (unlimited) or > 0", std::to_string(s.io_max_bytes_per_second));
  }
  return s;
}

}  // namespace keel::compaction
