// Retention `size`: keeps a partition at or under retention_bytes by deleting
// its oldest segments, with Kafka's retention.bytes semantics.
//
// Threads: the broker calls select() on its maintenance thread; the instance
// holds only its setting.
#pragma once

#include <cstddef>
#include <cstdint>
#include <keel/plugin.hpp>

namespace keel::retention {

class SizeRetention final : public keel::sdk::Retention {
 public:
  static constexpr int64_t kUnlimited = -1;

  // Reads retention_bytes (default -1, unlimited); throws sdk::Error for
  // anything below -1.
  SizeRetention(const keel::sdk::Host&, const keel::sdk::Config& config);

  // How many of the oldest segments to delete; never the last (active) one.
  size_t select(const keel::sdk::Segments& segments, int64_t now_ms) override;

 private:
  int64_t retention_bytes_;
};

}  // namespace keel::retention
