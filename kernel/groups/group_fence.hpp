// Commit fencing for consumer groups (keel_group_commit in keel/plugin.h):
// the members and generation of each group as the transport running its
// protocol last published them (set_group_members), and the check every
// commit passes before it is stored, whatever transport it came through.
//
//  - A group with members takes a commit only from one of them, in the
//    group's current generation: another member id is UNKNOWN_MEMBER, an
//    other generation FENCED (a zombie of an older generation, or a client
//    outside the protocol such as an HTTP commit).
//  - A group without members (never published, emptied, or after a restart)
//    takes commits made outside any protocol only: generation
//    KEEL_GENERATION_NONE and an empty member id. Anything else is
//    UNKNOWN_MEMBER: its member is not in the group.
//
// Kept in memory only: after a restart every group is empty until its
// transport publishes it again (the Kafka transport does when it loads the
// groups it stored, before it serves).
//
// Threads: any. A shared mutex guards the map; admit() holds it shared while
// the caller stages the commit, so a new generation published meanwhile
// waits until the commit is staged: a commit is checked and stored against
// one and the same generation. Staging must not wait for a sync (an append
// to the page cache is fine: the fsync comes later, on the flusher).
#pragma once

#include <cstdint>
#include <map>
#include <shared_mutex>
#include <string>
#include <vector>

namespace keel {

class GroupFence {
 public:
  // Publishes the group's generation and members; no members empties it
  // (the generation is then ignored).
  void set_members(const std::string& group, int32_t generation, std::vector<std::string> member_ids);

  // Throws keel::Error (UNKNOWN_MEMBER or FENCED, naming group, member,
  // generation and what to do) when the commit may not be stored; else runs
  // `stage` under the fence's shared lock and returns what it returns.
  template <class Stage>
  auto admit(const std::string& group, const std::string& member_id, int32_t generation,
             Stage&& stage) const {
    std::shared_lock lock(mu_);
    check_locked(group, member_id, generation);
    return stage();
  }

  // The check alone (for tests and callers that store nothing).
  void check(const std::string& group, const std::string& member_id, int32_t generation) const;

  // Groups with members now (for metrics and tests).
  size_t live_groups() const;
  // Whether `group` has members now (a group in use cannot be deleted).
  bool has_members(const std::string& group) const;

 private:
  struct Members {
    int32_t generation = 0;
    std::vector<std::string> ids;  // sorted
  };
  void check_locked(const std::string& group, const std::string& member_id, int32_t generation) const;

  mutable std::shared_mutex mu_;
  std::map<std::string, Members> groups_;  // only groups with members
};

}  // namespace keel
