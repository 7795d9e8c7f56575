// The consumer-group coordinator: Keel is the coordinator of every group.
// Keeps the registry of groups (membership lives in memory; members rejoin
// after a restart) and answers the group requests the handlers decode.
// Committed offsets are stored durably by the kernel, not here.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "group_clock.hpp"
#include "group_operations.hpp"

namespace keel::kafka {

class Group;
class Services;

class GroupCoordinator {
 public:
  explicit GroupCoordinator(Services& services);
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

 private:
  std::shared_ptr<Group> find(const std::string& group_id) const;
  std::shared_ptr<Group> find_or_create(const std::string& group_id);

  // Drops idle groups nobody holds; caller holds mu_.
  void forget_idle_locked();

  Services& services_;
  const HostGroupClock clock_;  // every group's deadlines; outlives the groups
  mutable std::mutex mu_;       // guards groups_ only; each Group locks itself
  std::map<std::string, std::shared_ptr<Group>> groups_;
  size_t sweep_at_ = 64;  // groups_.size() that triggers the next sweep
};

}  // namespace keel::kafka
