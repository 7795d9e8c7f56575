#include "groups/group_views.hpp"

namespace keel {

void GroupViews::set(const std::string& group, GroupView view) {
  std::lock_guard lock(mu_);
  if (view.members.empty()) {
    groups_.erase(group);
    return;
  }
  groups_[group] = std::move(view);
}

std::optional<GroupView> GroupViews::get(const std::string& group) const {
  std::lock_guard lock(mu_);
  auto it = groups_.find(group);
  if (it == groups_.end()) return std::nullopt;
  return it->second;
}

}  // namespace keel
