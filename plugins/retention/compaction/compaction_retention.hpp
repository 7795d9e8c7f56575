// Retention `compaction`: Kafka's cleanup.policy=compact. Deletes no whole
// segment itself (combine it with `time`/`size` for compact,delete); keeps
// the newest record of every key in the closed segments and drops
// tombstones after delete_retention_ms. See cleaner.hpp for one pass.
//
// Threads: the broker calls rewrite() for each partition of the topic on its
// maintenance thread, one at a time, so the per-partition state needs no lock.
#pragma once

#include <cstdint>
#include <keel/plugin.hpp>
#include <map>

#include "compaction_settings.hpp"

namespace keel::compaction {

class CompactionRetention final : public keel::sdk::Retention {
 public:
  static constexpr bool kRewrites = true;

  CompactionRetention(const keel::sdk::Host& host, const keel::sdk::Config& config)
      : host_(host), settings_(Settings::from(config)) {}

  size_t select(const keel::sdk::Segments&, int64_t) override { return 0; }
  bool requires_keys() override { return true; }

  // One cleaning pass of the partition behind `log`, if one is due.
  void rewrite(const keel_log_rewriter& log, int64_t now_ms) override;

 private:
  keel::sdk::Host host_;
  Settings settings_;
  struct State {
    bool unfinished = false;            // the last pass stopped early
    int64_t tombstones_expire_at = -1;  // a kept tombstone may go then
  };
  std::map<int32_t, State> state_;  // by partition
};

}  // namespace keel::compaction
