// The broker's side of consumer groups that transports call: fenced commits
// (GroupFence decides, GroupOffsetStore stores), the publication of a
// group's members by the transport that runs its protocol, and deletions.
#include "broker.hpp"
#include "common/error.hpp"
#include "groups/offset_records.hpp"

namespace keel {
namespace {

// Group ids are free-form (as Kafka's) but must name something.
void check_group_name(const std::string& group) {
  if (group.empty()) fail(KEEL_ERR_INVALID_NAME, "the group id is empty; name the consumer group");
}

}  // namespace

void Broker::commit_offsets(const GroupCommit& commit, const CommitDone& done) {
  try {
    check_group_name(commit.group);
    if (!offsets_) fail(KEEL_ERR_UNAVAILABLE, "the broker is not started: consumer offsets are not open");
    // In a cluster a group's offsets are written by the leader of its
    // __consumer_offsets partition only (the group coordinator).
    require_leadership(std::string(offsets::kTopic), offsets_->partition_for(commit.group));
    // Checked and stored (staged, or appended) under the fence's lock: a
    // generation published meanwhile cannot slip between the check and the
    // store.
    if (offsets_->flush_on_commit()) {
      // `done` from the flusher once synced; not under the fence's lock.
      fence_.admit(commit.group, commit.member_id, commit.generation,
                   [&] { offsets_->commit_async(commit.group, commit.offsets, clock_->now_ms(), done); });
      return;
    }
    fence_.admit(commit.group, commit.member_id, commit.generation,
                 [&] { return offsets_->stage(commit.group, commit.offsets, clock_->now_ms()); });
  } catch (const Error& e) {
    return done(e.code(), e.what());
  } catch (const std::exception& e) {
    return done(KEEL_ERR_INTERNAL, e.what());
  }
  done(KEEL_OK, "");
}

void Broker::set_group_members(const std::string& group, int32_t generation,
                               std::vector<std::string> member_ids) {
  check_group_name(group);
  fence_.set_members(group, generation, std::move(member_ids));
}

std::optional<GroupView> Broker::describe_group(const std::string& group) const {
  check_group_name(group);
  if (auto v = group_views_.get(group)) return v;
  if (!offsets_) return std::nullopt;
  if (offsets_->group_offsets(group).empty() && !offsets_->group_metadata(group)) return std::nullopt;
  GroupView empty;
  empty.state = "Empty";
  return empty;
}

void Broker::delete_group(const std::string& group) {
  check_group_name(group);
  if (!offsets_) fail(KEEL_ERR_UNAVAILABLE, "the broker is not started: consumer offsets are not open");
  // A check, not a lock: the transport that runs the group's protocol
  // refuses the deletion of a group with members under its own lock; this
  // stops deletions that come another way (HTTP) while a group is in use.
  if (fence_.has_members(group)) {
    fail(KEEL_ERR_FENCED, "group '" + group +
                              "' has live members of a group protocol; it can be deleted once its consumers "
                              "have closed or their sessions have expired");
  }
  if (!offsets_->remove_group(group)) {
    fail(KEEL_ERR_NOT_FOUND, "group '" + group + "' has no committed offsets and no stored metadata");
  }
}

void Broker::delete_group_offsets(const std::string& group, const std::string& topic,
                                  const std::vector<int32_t>& partitions) {
  check_group_name(group);
  if (!offsets_) fail(KEEL_ERR_UNAVAILABLE, "the broker is not started: consumer offsets are not open");
  if (!offsets_->remove_offsets(group, topic, partitions)) {
    fail(KEEL_ERR_NOT_FOUND, "group '" + group + "' has no committed offsets and no stored metadata");
  }
}

}  // namespace keel
