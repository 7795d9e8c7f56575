// The consumer-group and metrics entries of the broker API table.
#include <keel/plugin.h>

#include <string>
#include <vector>

#include "broker_api_support.hpp"
#include "observability/label_text.hpp"

namespace keel {
namespace {

// What ABI 2.0 defines of a commit and of one of its offsets.
constexpr size_t kMinCommitSize = offsetof(keel_group_commit, offset_size) + sizeof(size_t);
constexpr size_t kMinOffsetSize = offsetof(keel_offset_commit, metadata) + sizeof(void*);
constexpr size_t kMinMembersSize = offsetof(keel_group_members, member_count) + sizeof(size_t);

std::string text_or_empty(const char* s) { return s != nullptr ? s : ""; }

// The 2.6 description that may come with the members (checked before the
// fence changes, so that a malformed one changes nothing). Without it the
// view holds the ids alone.
GroupView read_view(const keel_group_members& m) {
  GroupView v;
  v.generation = m.generation;
  const bool described = KEEL_HAS_FIELD(&m, keel_group_members, member_size);
  if (described) {
    v.state = text_or_empty(m.state);
    v.protocol_type = text_or_empty(m.protocol_type);
    v.protocol = text_or_empty(m.protocol);
    v.leader_id = text_or_empty(m.leader_id);
  }
  const bool detailed = described && m.members != nullptr;
  if (detailed && m.member_size < offsetof(keel_group_member_info, assignment_partitions) + sizeof(void*)) {
    fail(KEEL_ERR_INVALID_ARGUMENT, "set_group_members of group '" + std::string(m.group) +
                                        "': member_size " + std::to_string(m.member_size) +
                                        " is smaller than ABI 2.6's keel_group_member_info");
  }
  for (size_t i = 0; i < m.member_count; ++i) {
    GroupMemberView member;
    member.member_id = m.member_ids[i];
    if (detailed) {
      const auto& info = *KEEL_ELEMENT(keel_group_member_info, m.members, m.member_size, i);
      member.instance_id = text_or_empty(info.group_instance_id);
      member.client_id = text_or_empty(info.client_id);
      member.client_host = text_or_empty(info.client_host);
      if (info.assignment_count < 0 ||
          (info.assignment_count > 0 &&
           (info.assignment_topics == nullptr || info.assignment_partitions == nullptr))) {
        fail(KEEL_ERR_INVALID_ARGUMENT, "set_group_members of group '" + std::string(m.group) +
                                            "': member '" + member.member_id +
                                            "' has a malformed assignment");
      }
      for (int32_t a = 0; a < info.assignment_count; ++a) {
        if (info.assignment_topics[a] == nullptr) {
          fail(KEEL_ERR_INVALID_ARGUMENT, "set_group_members of group '" + std::string(m.group) +
                                              "': member '" + member.member_id +
                                              "' is assigned a NULL topic");
        }
        member.assignment.emplace_back(info.assignment_topics[a], info.assignment_partitions[a]);
      }
    }
    v.members.push_back(std::move(member));
  }
  return v;
}

// Reads a transport's commit into the broker's form; throws on a malformed
// one (sizes from an unknown SDK, NULL where a string must be).
Broker::GroupCommit read_commit(const keel_group_commit* c) {
  if (c == nullptr || c->struct_size < kMinCommitSize) {
    fail(KEEL_ERR_INVALID_ARGUMENT,
         "keel_group_commit is missing or shorter than ABI 2.0 defines; rebuild "
         "the transport against the Keel SDK 2.x");
  }
  if (c->group == nullptr) fail(KEEL_ERR_INVALID_NAME, "the commit names no group");
  if (c->offset_count > 0 && (c->offsets == nullptr || c->offset_size < kMinOffsetSize)) {
    fail(KEEL_ERR_INVALID_ARGUMENT, "the commit of group '" + std::string(c->group) + "' has " +
                                        std::to_string(c->offset_count) + " offsets of " +
                                        std::to_string(c->offset_size) + " bytes each; ABI 2.0 needs " +
                                        std::to_string(kMinOffsetSize));
  }
  Broker::GroupCommit out;
  out.group = c->group;
  out.member_id = c->member_id != nullptr ? c->member_id : "";
  out.generation = c->generation;
  out.offsets.reserve(c->offset_count);
  for (size_t i = 0; i < c->offset_count; ++i) {
    // Stepped by the transport's element size (rule 2).
    const keel_offset_commit& o = *KEEL_ELEMENT(keel_offset_commit, c->offsets, c->offset_size, i);
    if (o.topic == nullptr) {
      fail(KEEL_ERR_INVALID_NAME,
           "offset #" + std::to_string(i) + " of the commit of group '" + out.group + "' names no topic");
    }
    out.offsets.push_back(OffsetCommit{o.topic, o.partition, o.offset, o.metadata ? o.metadata : ""});
  }
  return out;
}

}  // namespace

void add_group_api(keel_broker_api* api) {
  api->commit_offsets = [](void* ctx, const keel_group_commit* commit, keel_status_callback cb, void* user) {
    Broker::GroupCommit c;
    keel_error err{};
    const keel_status s = guard(&err, [&] { c = read_commit(commit); });
    if (s != KEEL_OK) return cb(user, s, err.message);
    B(ctx).commit_offsets(c, [cb, user](keel_status status, const std::string& message) {
      cb(user, status, status == KEEL_OK ? nullptr : message.c_str());
    });
  };
  api->set_group_members = [](void* ctx, const keel_group_members* m, keel_error* err) {
    return guard(err, [&] {
      if (m == nullptr || m->struct_size < kMinMembersSize) {
        fail(KEEL_ERR_INVALID_ARGUMENT, "keel_group_members is missing or shorter than ABI 2.0 defines");
      }
      if (m->group == nullptr) fail(KEEL_ERR_INVALID_NAME, "set_group_members names no group");
      if (m->member_count > 0 && m->member_ids == nullptr) {
        fail(KEEL_ERR_INVALID_ARGUMENT, "set_group_members of group '" + std::string(m->group) + "': " +
                                            std::to_string(m->member_count) + " members but no member_ids");
      }
      std::vector<std::string> ids;
      for (size_t i = 0; i < m->member_count; ++i) {
        if (m->member_ids[i] == nullptr || *m->member_ids[i] == '\0') {
          fail(KEEL_ERR_INVALID_ARGUMENT, "set_group_members of group '" + std::string(m->group) +
                                              "': member #" + std::to_string(i) + " has no id");
        }
        ids.emplace_back(m->member_ids[i]);
      }
      GroupView view = read_view(*m);
      B(ctx).set_group_members(m->group, m->generation, std::move(ids));
      B(ctx).set_group_view(m->group, std::move(view));
    });
  };
  api->store_group_metadata = [](void* ctx, const char* group, const char* metadata, keel_error* err) {
    return guard(err, [&] {
      B(ctx).group_offsets().set_group_metadata(group, metadata ? metadata : "", B(ctx).clock().now_ms());
    });
  };
  api->group_metadata = [](void* ctx, const char* group, keel_string_callback cb, void* user) {
    return guard(nullptr, [&] {
      auto m = B(ctx).group_offsets().group_metadata(group);
      if (!m) fail(KEEL_ERR_NOT_FOUND, std::string("group '") + group + "' has no stored metadata");
      cb(user, m->c_str());
    });
  };
  api->fetch_offset = [](void* ctx, const char* group, const char* topic, int32_t partition, int64_t* offset,
                         keel_string_callback metadata_cb, void* user) {
    return guard(nullptr, [&] {
      auto c = B(ctx).group_offsets().fetch(group, topic, partition);
      *offset = c ? c->offset : -1;
      if (c && metadata_cb) metadata_cb(user, c->metadata.c_str());
    });
  };
  api->group_offsets = [](void* ctx, const char* group, keel_group_offset_callback cb, void* user) {
    return guard(nullptr, [&] {
      auto offsets = B(ctx).group_offsets().group_offsets(group);
      if (offsets.empty())
        fail(KEEL_ERR_NOT_FOUND, std::string("group '") + group + "' has no committed offsets");
      for (const auto& [tp, c] : offsets) cb(user, tp.first.c_str(), tp.second, c.offset, c.metadata.c_str());
    });
  };
  api->delete_group = [](void* ctx, const char* group, keel_error* err) {
    return guard(err, [&] {
      if (group == nullptr) fail(KEEL_ERR_INVALID_NAME, "delete_group names no group");
      B(ctx).delete_group(group);
    });
  };
  api->delete_group_offsets = [](void* ctx, const char* group, const char* topic, const int32_t* partitions,
                                 size_t count, keel_error* err) {
    return guard(err, [&] {
      if (group == nullptr || topic == nullptr) {
        fail(KEEL_ERR_INVALID_NAME, "delete_group_offsets needs a group and a topic");
      }
      if (count > 0 && partitions == nullptr) {
        fail(KEEL_ERR_INVALID_ARGUMENT, "delete_group_offsets of group '" + std::string(group) +
                                            "': " + std::to_string(count) + " partitions but no array");
      }
      B(ctx).delete_group_offsets(group, topic, std::vector<int32_t>(partitions, partitions + count));
    });
  };
  api->list_groups = [](void* ctx, keel_string_callback cb, void* user) {
    return guard(nullptr, [&] {
      for (const auto& g : B(ctx).group_offsets().groups()) cb(user, g.c_str());
    });
  };
}

void add_metrics_api(keel_broker_api* api) {
  api->counter_add = [](void* ctx, const char* name, const keel_label* labels, size_t count, double delta) {
    B(ctx).metrics().counter_add(name ? name : "", label_text(labels, count), delta);
  };
  api->gauge_set = [](void* ctx, const char* name, const keel_label* labels, size_t count, double value) {
    B(ctx).metrics().gauge_set(name ? name : "", label_text(labels, count), value);
  };
  api->histogram_observe = [](void* ctx, const char* name, const keel_label* labels, size_t count,
                              double value) {
    B(ctx).metrics().histogram_observe(name ? name : "", label_text(labels, count), value);
  };
}

}  // namespace keel
