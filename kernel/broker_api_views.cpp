// ABI 2.6 slots of the broker API table: operators' views (the HTTP
// transport's /plugins, segments and group endpoints, and the web console
// on top of them). Read-only and from memory: the plugin registry, a
// partition's segment list, and the group views the group protocol
// published.
#include <keel/plugin.h>

#include <string>
#include <vector>

#include "broker_api_support.hpp"

namespace keel {

void add_views_api(keel_broker_api* api) {
  api->list_strategies = [](void* ctx, keel_loaded_strategy_callback cb, void* user) {
    guard(nullptr, [&] {
      for (const auto& s : B(ctx).registry().loaded_strategies()) {
        keel_loaded_strategy out{};
        out.struct_size = sizeof out;
        out.kind = s.kind;
        out.kind_name = kind_name(s.kind);
        out.name = s.name.c_str();
        out.plugin = s.plugin.c_str();
        out.version = s.version.c_str();
        out.path = s.path.c_str();
        out.abi_major = s.abi_major;
        out.abi_minor = s.abi_minor;
        cb(user, &out);
      }
    });
  };
  api->list_segments = [](void* ctx, const char* topic, int32_t partition, keel_segments_callback cb,
                          void* user, keel_error* err) {
    return guard(err, [&] {
      if (topic == nullptr) fail(KEEL_ERR_INVALID_NAME, "list_segments names no topic");
      const auto infos = B(ctx).partition(topic, partition)->segment_infos();
      cb(user, infos.data(), infos.size(), sizeof(keel_segment_info));
    });
  };
  api->describe_group = [](void* ctx, const char* group, keel_group_view_callback cb, void* user,
                           keel_error* err) {
    return guard(err, [&] {
      if (group == nullptr) fail(KEEL_ERR_INVALID_NAME, "describe_group names no group");
      auto view = B(ctx).describe_group(group);
      if (!view) {
        fail(KEEL_ERR_NOT_FOUND, std::string("group '") + group +
                                     "' has no members, committed offsets or stored metadata on this broker");
      }
      // Every pointer handed out lives in `view` and these vectors until cb
      // returns.
      std::vector<const char*> ids;
      std::vector<keel_group_member_info> infos(view->members.size());
      std::vector<std::vector<const char*>> topics(view->members.size());
      std::vector<std::vector<int32_t>> partitions(view->members.size());
      for (size_t i = 0; i < view->members.size(); ++i) {
        const GroupMemberView& m = view->members[i];
        ids.push_back(m.member_id.c_str());
        for (const auto& [t, p] : m.assignment) {
          topics[i].push_back(t.c_str());
          partitions[i].push_back(p);
        }
        keel_group_member_info& info = infos[i];
        info.struct_size = sizeof info;
        info.assignment_count = static_cast<int32_t>(m.assignment.size());
        info.member_id = m.member_id.c_str();
        info.group_instance_id = m.instance_id.empty() ? nullptr : m.instance_id.c_str();
        info.client_id = m.client_id.c_str();
        info.client_host = m.client_host.c_str();
        info.assignment_topics = topics[i].data();
        info.assignment_partitions = partitions[i].data();
      }
      keel_group_members g{};
      g.struct_size = sizeof g;
      g.generation = view->members.empty() ? KEEL_GENERATION_NONE : view->generation;
      g.group = group;
      g.member_ids = ids.data();
      g.member_count = ids.size();
      g.state = view->state.c_str();
      g.protocol_type = view->protocol_type.c_str();
      g.protocol = view->protocol.c_str();
      g.leader_id = view->leader_id.c_str();
      g.members = infos.data();
      g.member_size = sizeof(keel_group_member_info);
      cb(user, &g);
    });
  };
}

}  // namespace keel
