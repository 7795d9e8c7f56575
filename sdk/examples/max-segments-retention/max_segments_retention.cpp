// Retention `max-segments`: keeps at most `max_segments` segments per
// partition (default 10, the active one included) and lets the broker delete
// the oldest beyond that, whatever their age or size.
//
//   [topics.t]
//   retention = ["max-segments"]
//   [topics.t.plugins.max-segments]
//   max_segments = 3
#include <cstdint>
#include <keel/plugin.hpp>
#include <string>

namespace {

class MaxSegments final : public keel::sdk::Retention {
 public:
  MaxSegments(const keel::sdk::Host&, const keel::sdk::Config& config)
      : max_segments_(config.get_int("max_segments", 10)) {
    if (max_segments_ < 1) {
      throw keel::sdk::Error(KEEL_ERR_INVALID_ARGUMENT, "setting 'max_segments' is " +
                                                            std::to_string(max_segments_) +
                                                            "; use 1 or more (the active segment counts)");
    }
  }

  // Runs on the maintenance thread only; segments come oldest first, so the
  // answer is how many of the oldest go. The broker never deletes the active
  // (last) segment, whatever this returns.
  size_t select(const keel::sdk::Segments& segments, int64_t) override {
    const auto keep = static_cast<size_t>(max_segments_);
    return segments.size() > keep ? segments.size() - keep : 0;
  }

 private:
  int64_t max_segments_;
};

}  // namespace

KEEL_PLUGIN("max-segments-retention", "1.0.0", keel::sdk::retention_strategy<MaxSegments>("max-segments"))
