// A GroupView (keel/operator_views.hpp) laid out as ABI 2.6's
// keel_group_members with keel_group_member_info elements, for the one call
// that hands it across the C ABI (a transport's set_group_members, the
// broker's describe_group answer). Holds every array the pointers point
// into, so it is neither copied nor moved; the GroupView must outlive it.
#pragma once

#include <keel/plugin.h>

#include <cstdint>
#include <keel/operator_views.hpp>
#include <vector>

namespace keel::sdk {

class GroupViewC {
 public:
  explicit GroupViewC(const GroupView& view) {
    const size_t n = view.members.size();
    infos_.resize(n);
    topics_.resize(n);
    partitions_.resize(n);
    for (size_t i = 0; i < n; ++i) {
      const GroupMemberView& m = view.members[i];
      ids_.push_back(m.member_id.c_str());
      for (const auto& [t, p] : m.assignment) {
        topics_[i].push_back(t.c_str());
        partitions_[i].push_back(p);
      }
#if KEEL_TARGET_ABI_MINOR >= 6
      keel_group_member_info& info = infos_[i];
      info.struct_size = sizeof info;
      info.assignment_count = static_cast<int32_t>(m.assignment.size());
      info.member_id = m.member_id.c_str();
      info.group_instance_id = m.instance_id.empty() ? nullptr : m.instance_id.c_str();
      info.client_id = m.client_id.c_str();
      info.client_host = m.client_host.c_str();
      info.assignment_topics = topics_[i].empty() ? nullptr : topics_[i].data();
      info.assignment_partitions = partitions_[i].empty() ? nullptr : partitions_[i].data();
#endif
    }
    g_.struct_size = sizeof g_;
    g_.generation = n == 0 ? KEEL_GENERATION_NONE : view.generation;
    g_.group = view.group.c_str();
    g_.member_ids = ids_.empty() ? nullptr : ids_.data();
    g_.member_count = n;
#if KEEL_TARGET_ABI_MINOR >= 6
    g_.state = text(view.state);
    g_.protocol_type = text(view.protocol_type);
    g_.protocol = text(view.protocol);
    g_.leader_id = text(view.leader_id);
    g_.members = infos_.empty() ? nullptr : infos_.data();
    g_.member_size = sizeof(keel_group_member_info);
#endif
  }
  GroupViewC(const GroupViewC&) = delete;
  GroupViewC& operator=(const GroupViewC&) = delete;

  const keel_group_members* get() const { return &g_; }

 private:
  static const char* text(const std::string& s) { return s.empty() ? nullptr : s.c_str(); }

#if KEEL_TARGET_ABI_MINOR >= 6
  std::vector<keel_group_member_info> infos_;
#else
  std::vector<char> infos_;  // unused: 2.6 added member details
#endif
  std::vector<const char*> ids_;
  std::vector<std::vector<const char*>> topics_;
  std::vector<std::vector<int32_t>> partitions_;
  keel_group_members g_{};
};

}  // namespace keel::sdk
