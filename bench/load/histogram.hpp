// Log-linear latency histogram (HDR-style): constant memory, bounded relative
// error, no per-sample storage, so it works for runs of any length.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

namespace keel::load {

class LatencyHistogram {
 public:
  // 128 linear sub-buckets per power of two: a reported value is at most
  // 1/128 (0.8%) above the true sample, which is finer than run-to-run noise.
  static constexpr int kSubBits = 7;
  static constexpr uint64_t kSub = uint64_t{1} << kSubBits;

  void record(uint64_t value) {
    ++counts_[index_of(value)];
    ++count_;
    sum_ += static_cast<double>(value);
    min_ = std::min(min_, value);
    max_ = std::max(max_, value);
  }

  uint64_t count() const { return count_; }
  uint64_t min() const { return count_ ? min_ : 0; }
  uint64_t max() const { return max_; }
  double mean() const { return count_ ? sum_ / static_cast<double>(count_) : 0.0; }

  // The smallest bucket upper bound covering fraction q of the samples
  // ("highest equivalent value"), capped at the exact maximum.
  uint64_t percentile(double q) const {
    if (count_ == 0) return 0;
    const auto rank =
        std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_))));
    uint64_t seen = 0;
    for (size_t i = 0; i < counts_.size(); ++i) {
      seen += counts_[i];
      if (seen >= rank) return std::min(upper_bound_of(i), max_);
    }
    return max_;
  }

 private:
  // Values below 2*kSub are exact; above, each power of two [2^e, 2^(e+1))
  // is split into kSub equal buckets of width 2^(e - kSubBits).
  static constexpr size_t kBuckets = 2 * kSub + (64 - kSubBits - 1) * kSub;

  static size_t index_of(uint64_t v) {
    if (v < 2 * kSub) return static_cast<size_t>(v);
    const int e = 63 - std::countl_zero(v);
    const int shift = e - kSubBits;
    const uint64_t sub = v >> shift;  // in [kSub, 2*kSub)
    return static_cast<size_t>(2 * kSub + static_cast<uint64_t>(shift - 1) * kSub + (sub - kSub));
  }

  static uint64_t upper_bound_of(size_t i) {
    if (i < 2 * kSub) return i;
    const uint64_t shift = (i - 2 * kSub) / kSub + 1;
    const uint64_t sub = (i - 2 * kSub) % kSub + kSub;
    if (sub + 1 >= (uint64_t{1} << (64 - shift))) return std::numeric_limits<uint64_t>::max();
    return ((sub + 1) << shift) - 1;
  }

  std::array<uint64_t, kBuckets> counts_{};
  uint64_t count_ = 0;
  double sum_ = 0;
  uint64_t min_ = std::numeric_limits<uint64_t>::max();
  uint64_t max_ = 0;
};

}  // namespace keel::load
