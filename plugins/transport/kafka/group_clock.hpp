// The time that consumer-group deadlines (sessions, rebalance timeouts, the
// initial rebalance delay) are measured in. Every timing decision of a group
// reads it, never std::chrono directly: production reads the host's
// monotonic clock, and unit tests substitute a clock they advance by hand,
// so that expiry is triggered by a tick instead of by waiting real time.
#pragma once

#include <chrono>
#include <keel/plugin.hpp>

namespace keel::kafka {

class GroupClock {
 public:
  using duration = std::chrono::nanoseconds;
  // Only differences between two readings mean anything.
  using time_point = std::chrono::time_point<GroupClock, duration>;

  virtual ~GroupClock() = default;
  // Called from any thread, under a group's lock: must not block.
  virtual time_point now() const = 0;
};

// The host's monotonic clock: unaffected by wall-clock steps.
class HostGroupClock final : public GroupClock {
 public:
  explicit HostGroupClock(const sdk::Host& host) : host_(host) {}
  time_point now() const override { return time_point(duration(host_.monotonic_ns())); }

 private:
  const sdk::Host& host_;
};

}  // namespace keel::kafka
