// Retention `time`: deletes segments whose newest record is older than
// retention_ms, with Kafka's retention.ms semantics.
//
// Threads: the broker calls select() on its maintenance thread; the instance
// holds only its setting.
#pragma once

#include <cstddef>
#include <cstdint>
#include <keel/plugin.hpp>

namespace keel::retention {

class TimeRetention final : public keel::sdk::Retention {
 public:
  static constexpr int64_t kKeepForever = -1;
  static constexpr int64_t kDefaultRetentionMs = 7LL * 24 * 3600 * 1000;  // Kafka's retention.ms

  // Reads retention_ms (default 7 days); throws sdk::Error unless it is -1 or > 0.
  TimeRetention(const keel::sdk::Host&, const keel::sdk::Config& config);

  // How many of the oldest segments have expired at now_ms; never the last
  // (active) one, and only a prefix.
  size_t select(const keel::sdk::Segments& segments, int64_t now_ms) override;

 private:
  int64_t retention_ms_;
};

}  // namespace keel::retention
