// One consumer group's membership and rebalance state machine (Kafka's
// classic protocol): members join, the join phase ends when all known
// members have rejoined or the rebalance timeout passes, the leader's
// SyncGroup hands out assignments, and missed heartbeats end sessions.
//
// Time: every deadline is read from the GroupClock given at construction.
// The asio timer only wakes the group up; tick() then decides from the clock
// what is due, so a test with a clock of its own drives expiry by advancing
// it and calling tick(), and a late or early wake-up changes nothing.
//
// Thread safety: handlers call in from many connection strands and the
// timer fires on the I/O pool, so every entry point takes the group's mutex.
// Callbacks run under it; they only encode and post a response.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <keel/operator_views.hpp>
#include <keel/plugin.hpp>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "group_clock.hpp"
#include "group_member.hpp"
#include "group_operations.hpp"
#include "group_snapshot.hpp"
#include "group_state.hpp"

namespace keel::kafka {

class Group : public std::enable_shared_from_this<Group> {
 public:
  // `clock` and `host` must outlive the group.
  Group(std::string id, boost::asio::any_io_executor executor,
        std::chrono::milliseconds initial_rebalance_delay, const sdk::Host& host, const GroupClock& clock);
  Group(const Group&) = delete;
  Group& operator=(const Group&) = delete;

  const std::string& id() const { return id_; }

  // `done` is called once: at once for errors and for members whose state
  // is already settled, otherwise when the join phase completes.
  void join(JoinArgs args, JoinCallback done);
  // Followers' `done` waits for the leader's assignments.
  void sync(int32_t generation, const std::string& member_id,
            const std::vector<MemberAssignment>& assignments, SyncCallback done);
  ErrorCode heartbeat(int32_t generation, const std::string& member_id);
  ErrorCode leave(const std::string& member_id);
  // Whether an offset commit from this member and generation is allowed.
  ErrorCode check_commit(int32_t generation, const std::string& member_id);

  GroupSummary describe() const;
  // What OffsetDelete needs to know (Kafka's rules): whether the group has
  // members, its protocol type, and the topics its members subscribe to
  // (nullopt when a member's metadata cannot be read: count every topic).
  struct Usage {
    bool has_members = false;
    std::string protocol_type;
    std::optional<std::set<std::string>> topics;
  };
  Usage usage() const;
  std::string protocol_type() const;
  // Empty, with no member: nothing in memory that the stored offsets and
  // metadata (restore()) could not bring back.
  bool idle() const;

  // What survives a restart (group_snapshot.hpp): `cb` gets the group's
  // snapshot each time it should be stored, as Kafka's coordinator stores
  // its GroupMetadata: when a generation forms (so that generations keep
  // increasing across a restart), when the leader's SyncGroup makes it
  // Stable (with the assignments), and when it empties. Called with the
  // group's lock held, in the order of the changes; it must not block (post
  // the write elsewhere).
  using SnapshotCallback = std::function<void(const GroupSnapshot&)>;
  void on_snapshot(SnapshotCallback cb);
  // At load, before the first request and after on_members(): takes the
  // stored group back as Kafka's GroupMetadataManager loads it. A Stable
  // group keeps its members, generation and assignments, so that their
  // heartbeats and commits go on as before the restart; a group stored
  // between its join phase and the leader's SyncGroup waits for its members
  // to rejoin (their SyncGroup gets REBALANCE_IN_PROGRESS). Every member's
  // session restarts now: members that never come back are removed when it
  // ends. The members are published to on_members().
  void restore(const GroupSnapshot& s);

  // Does whatever is due at the clock's current time (sessions to end, a
  // join phase to complete) and re-arms the timer for the next deadline.
  // The timer calls it; a test calls it after advancing its clock.
  void tick();

  // Called with the group's lock held each time its membership settles for
  // commit fencing: a generation becomes stable (its members and number,
  // with their clients and assignments for operators' views), or the group
  // becomes empty (state "Empty", no members). It must not block; the calls
  // arrive in the order of the changes.
  using MembersCallback = std::function<void(const sdk::GroupView& view)>;
  void on_members(MembersCallback cb);

 private:
  using TimePoint = GroupClock::time_point;

  bool supports_locked(const JoinArgs& args) const;
  void update_member_locked(GroupMember& m, JoinArgs&& args);
  JoinResult result_for_locked(const GroupMember& m) const;
  void prepare_rebalance_locked(TimePoint now, const std::string& reason);
  void extend_initial_delay_locked(TimePoint now);
  void try_complete_join_locked(TimePoint now, bool force);
  void remove_member_locked(const std::string& member_id, ErrorCode error);
  void after_member_left_locked(TimePoint now, const std::string& reason);
  void expire_sessions_locked(TimePoint now);
  const GroupMember* earliest_member_locked() const;
  void arm_timer_locked(TimePoint now);
  // Tells on_members_ what the group is now (stable or empty).
  void publish_members_locked();
  // Hands on_snapshot_ the group as it is now.
  void store_snapshot_locked();

  const std::string id_;
  const std::chrono::milliseconds initial_rebalance_delay_;
  const sdk::Host& host_;
  const GroupClock& clock_;

  mutable std::mutex mu_;
  boost::asio::steady_timer timer_;
  TimePoint timer_at_ = TimePoint::max();  // max: not armed
  GroupState state_ = GroupState::kEmpty;
  int32_t generation_ = 0;
  std::string protocol_type_;
  std::string protocol_;
  std::string leader_;
  std::map<std::string, GroupMember> members_;
  SnapshotCallback on_snapshot_;
  MembersCallback on_members_;
  uint64_t next_join_order_ = 0;
  // While preparing a rebalance: the join phase ends by join_deadline_ at
  // the latest, and not before join_not_before_ (initial rebalance delay).
  TimePoint join_deadline_;
  TimePoint join_not_before_;
  // The initial delay of an empty group's first rebalance is running, and
  // whether a new member joined in its current window (which then earns
  // another window, as in Kafka's InitialDelayedJoin).
  bool initial_delay_ = false;
  bool joined_during_delay_ = false;
};

}  // namespace keel::kafka
