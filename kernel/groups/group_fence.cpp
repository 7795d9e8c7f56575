#include "groups/group_fence.hpp"

#include <keel/plugin.h>

#include <algorithm>
#include <mutex>

#include "common/error.hpp"

namespace keel {
namespace {

std::string member_text(const std::string& member_id) {
  return member_id.empty() ? "no member id" : "member '" + member_id + "'";
}

std::string generation_text(int32_t generation) {
  return generation == KEEL_GENERATION_NONE ? "no generation (a commit outside the group protocol)"
                                            : "generation " + std::to_string(generation);
}

}  // namespace

void GroupFence::set_members(const std::string& group, int32_t generation,
                             std::vector<std::string> member_ids) {
  std::sort(member_ids.begin(), member_ids.end());
  std::unique_lock lock(mu_);
  if (member_ids.empty()) {
    groups_.erase(group);
    return;
  }
  groups_[group] = Members{generation, std::move(member_ids)};
}

void GroupFence::check(const std::string& group, const std::string& member_id, int32_t generation) const {
  std::shared_lock lock(mu_);
  check_locked(group, member_id, generation);
}

size_t GroupFence::live_groups() const {
  std::shared_lock lock(mu_);
  return groups_.size();
}

bool GroupFence::has_members(const std::string& group) const {
  std::shared_lock lock(mu_);
  return groups_.count(group) > 0;
}

void GroupFence::check_locked(const std::string& group, const std::string& member_id,
                              int32_t generation) const {
  auto it = groups_.find(group);
  if (it == groups_.end()) {
    if (generation == KEEL_GENERATION_NONE && member_id.empty()) return;
    fail(KEEL_ERR_UNKNOWN_MEMBER, "group '" + group + "' has no members, but the commit comes from " +
                                      member_text(member_id) + " in " + generation_text(generation) +
                                      ": the member left the group or its session expired; rejoin the group "
                                      "and commit again");
  }
  const Members& m = it->second;
  const std::string live = "group '" + group + "' has " + std::to_string(m.ids.size()) +
                           " live member(s) in generation " + std::to_string(m.generation);
  if (!std::binary_search(m.ids.begin(), m.ids.end(), member_id)) {
    fail(KEEL_ERR_UNKNOWN_MEMBER,
         live + ", and the commit comes from " + member_text(member_id) + ", which is not one of them: " +
             (member_id.empty()
                  ? "commit through the group's protocol, or wait until its consumers have closed"
                  : "the member was removed from the group; rejoin it and commit again"));
  }
  if (generation != m.generation) {
    fail(KEEL_ERR_FENCED,
         live + ", and the commit of member '" + member_id + "' is for " + generation_text(generation) +
             ": it is fenced as stale; rejoin the group and commit in its current generation");
  }
}

}  // namespace keel
