// The states of a consumer group (Kafka's classic GroupCoordinator), with
// the names DescribeGroups reports.
#pragma once

namespace keel::kafka {

enum class GroupState {
  kEmpty,                // no members (maybe committed offsets)
  kPreparingRebalance,   // waiting for members to (re)join
  kCompletingRebalance,  // joined; waiting for the leader's assignment
  kStable,               // assignment handed out
};

inline const char* state_name(GroupState s) {
  switch (s) {
    case GroupState::kEmpty:
      return "Empty";
    case GroupState::kPreparingRebalance:
      return "PreparingRebalance";
    case GroupState::kCompletingRebalance:
      return "CompletingRebalance";
    case GroupState::kStable:
      return "Stable";
  }
  return "Dead";
}

}  // namespace keel::kafka
