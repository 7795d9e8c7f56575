// What operators' views (the HTTP /groups/{g} endpoint, the web console)
// show of a consumer group: its state, protocol and members with their
// clients and assignments, as the transport running the group's protocol
// last described them (set_group_members with ABI 2.6 fields). Display
// only: fencing decisions are GroupFence's, from the same call.
//
// Kept in memory only, like the fence: after a restart a group shows as
// empty until its transport publishes it again.
//
// Threads: any; one mutex guards the map and is never held while calling
// out.
#pragma once

#include <cstdint>
#include <keel/operator_views.hpp>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace keel {

// The SDK's plain values, so that the broker API hands them on as they are.
using GroupMemberView = sdk::GroupMemberView;
using GroupView = sdk::GroupView;

class GroupViews {
 public:
  // A view without members removes the group (it is empty).
  void set(const std::string& group, GroupView view);
  std::optional<GroupView> get(const std::string& group) const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, GroupView> groups_;  // only groups with members
};

}  // namespace keel
