// ABI 2.6 slots of the broker API table: operators' views (the HTTP
// transport's /plugins, segments and group endpoints, and the web console
// on top of them). Read-only and from memory: the plugin registry, a
// partition's segment list, and the group views the group protocol
// published.
#include <keel/plugin.h>

#include <keel/group_view_c.hpp>
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
      view->group = group;
      const sdk::GroupViewC c(*view);
      cb(user, c.get());
    });
  };
}

}  // namespace keel
