// The consumer-group coordinator: Keel is the coordinator of every group.
// Keeps the registry of groups and answers the group requests the handlers
// decode. Each group's membership is stored as its metadata in the kernel's
// __consumer_offsets (group_snapshot.hpp) and loaded at start (load()), so
// members carry on across a restart. Committed offsets are the kernel's.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "group_clock.hpp"
#include "group_operations.hpp"
#include "group_snapshot.hpp"

namespace keel::kafka {

class Group;
class Services;

class GroupCoordinator {
 public:
  explicit GroupCoordinator(Services& services);
  // At the transport's start, before it serves: brings back every stored
  // group that had members (their sessions restart now).
  void load();
  ~GroupCoordinator();
  GroupCoordinator(const GroupCoordinator&) = delete;
  GroupCoordinator& operator=(const GroupCoordinator&) = delete;

  void join(const std::string& group_id, JoinArgs args, JoinCallback done);
  void sync(const std::string& group_id, int32_t generation, const std::string& member_id,
            const std::vector<MemberAssignment>& assignments, SyncCallback done);
  ErrorCode heartbeat(const std::string& group_id, int32_t generation, const std::string& member_id);
  ErrorCode leave(const std::string& group_id, const std::string& member_id);
  ErrorCode check_commit(const std::string& group_id, int32_t generation, const std::string& member_id);

  // Groups known in memory plus groups that only have committed offsets,
  // with their protocol types ("" when none), sorted by id.
  std::vector<std::pair<std::string, std::string>> list() const;
  // A group nobody knows is "Dead", as Kafka reports it.
  GroupSummary describe(const std::string& group_id) const;

  // DeleteGroups, as Kafka: GROUP_ID_NOT_FOUND for a group nobody knows,
  // NON_EMPTY_GROUP while it has members (or is forming); otherwise its
  // offsets and stored metadata are removed (durably, blocking) and a later
  // join starts a new group.
  ErrorCode delete_group(const std::string& group_id);
  // What OffsetDelete may remove, as Kafka decides it: GROUP_ID_NOT_FOUND
  // for a group nobody knows; an empty group loses any offset; a group with
  // members keeps the offsets of the topics they subscribe to (if it is not
  // a "consumer" group, whose subscriptions Keel cannot read,
  // NON_EMPTY_GROUP for the whole request).
  struct OffsetDeleteRule {
    ErrorCode error = ErrorCode::kNone;
    bool every_topic_subscribed = false;  // a member's subscription was unreadable
    std::set<std::string> subscribed;
    bool protects(const std::string& topic) const {
      return every_topic_subscribed || subscribed.count(topic) > 0;
    }
  };
  OffsetDeleteRule offset_delete_rule(const std::string& group_id) const;

 private:
  std::shared_ptr<Group> find(const std::string& group_id) const;
  std::shared_ptr<Group> find_or_create(const std::string& group_id);
  // The group's stored snapshot; nullopt (logged) when none or unreadable.
  std::optional<GroupSnapshot> stored_snapshot(const std::string& group_id) const;
  struct SnapshotWriter;
  // Stores `text` as the group's metadata, after any earlier snapshot of it.
  void write_snapshot(const std::string& group_id, const std::shared_ptr<SnapshotWriter>& w,
                      std::string text);

  // Drops idle groups nobody holds; caller holds mu_.
  void forget_idle_locked();

  Services& services_;
  const HostGroupClock clock_;  // every group's deadlines; outlives the groups
  mutable std::mutex mu_;       // guards groups_ only; each Group locks itself
  std::map<std::string, std::shared_ptr<Group>> groups_;
  // Each group's snapshot writer (also under mu_), kept apart from the group
  // so that delete_group can stop it.
  std::map<std::string, std::shared_ptr<SnapshotWriter>> writers_;
  size_t sweep_at_ = 64;  // groups_.size() that triggers the next sweep
};

}  // namespace keel::kafka
