#include "group.hpp"

#include <algorithm>

#include "consumer_assignment.hpp"
#include "consumer_subscription.hpp"
#include "group_snapshot.hpp"
#include "member_id.hpp"
#include "protocol_selection.hpp"

namespace keel::kafka {

namespace {

JoinResult join_error(ErrorCode error, const std::string& member_id) {
  JoinResult r;
  r.error = error;
  r.member_id = member_id;
  return r;
}

}  // namespace

Group::Group(std::string id, boost::asio::any_io_executor executor,
             std::chrono::milliseconds initial_rebalance_delay, const sdk::Host& host,
             const GroupClock& clock)
    : id_(std::move(id)),
      initial_rebalance_delay_(initial_rebalance_delay),
      host_(host),
      clock_(clock),
      timer_(std::move(executor)) {}

// ------------------------------------------------------------------ join

void Group::join(JoinArgs args, JoinCallback done) {
  std::lock_guard lock(mu_);
  const auto now = clock_.now();
  if (!args.member_id.empty() && members_.count(args.member_id) == 0) {
    done(join_error(ErrorCode::kUnknownMemberId, args.member_id));
    return;
  }
  if (!supports_locked(args)) {
    done(join_error(ErrorCode::kInconsistentGroupProtocol, args.member_id));
    return;
  }
  if (args.member_id.empty()) {
    GroupMember m;
    m.id = new_member_id(args.client_id);
    m.join_order = next_join_order_++;
    if (members_.empty()) protocol_type_ = args.protocol_type;
    const std::string id = m.id;
    update_member_locked(m, std::move(args));
    m.awaiting_join.push_back(std::move(done));
    members_.emplace(id, std::move(m));
    if (state_ != GroupState::kPreparingRebalance) {
      prepare_rebalance_locked(now, "member " + id + " joined");
    } else if (initial_delay_) {
      joined_during_delay_ = true;
    }
  } else {
    GroupMember& m = members_.at(args.member_id);
    switch (state_) {
      case GroupState::kPreparingRebalance:
        update_member_locked(m, std::move(args));
        m.awaiting_join.push_back(std::move(done));
        break;
      case GroupState::kCompletingRebalance:
      case GroupState::kStable: {
        // A follower that lost its JoinGroup response asks again: same
        // answer. The leader rejoining, or changed metadata (new topics),
        // needs a new assignment.
        const bool settled = m.same_protocols(args.protocols) &&
                             (state_ == GroupState::kCompletingRebalance || m.id != leader_);
        if (settled) {
          m.touch(now);
          done(result_for_locked(m));
          return;
        }
        const std::string id = m.id;
        update_member_locked(m, std::move(args));
        m.awaiting_join.push_back(std::move(done));
        prepare_rebalance_locked(
            now, "member " + id + (id == leader_ ? " (the leader) rejoined" : " rejoined with new metadata"));
        break;
      }
      case GroupState::kEmpty:  // has no members, so cannot get here
        done(join_error(ErrorCode::kUnknownMemberId, args.member_id));
        return;
    }
  }
  try_complete_join_locked(now, false);
  arm_timer_locked(now);
}

bool Group::supports_locked(const JoinArgs& args) const {
  if (args.protocol_type.empty() || args.protocols.empty()) return false;
  // Compared with the other members only: a member may change its own
  // protocols when it rejoins.
  bool others = false;
  std::vector<std::string> common;
  // No structured binding: clang before 16 cannot capture one in the lambda.
  for (const auto& entry : members_) {
    const GroupMember& m = entry.second;
    if (entry.first == args.member_id) continue;
    if (!others) {
      for (const auto& p : m.protocols) common.push_back(p.name);
      others = true;
    } else {
      std::erase_if(common, [&](const std::string& name) {
        return std::none_of(m.protocols.begin(), m.protocols.end(),
                            [&](const GroupProtocol& p) { return p.name == name; });
      });
    }
  }
  if (!others) return true;
  if (args.protocol_type != protocol_type_) return false;
  return std::any_of(args.protocols.begin(), args.protocols.end(), [&](const GroupProtocol& p) {
    return std::find(common.begin(), common.end(), p.name) != common.end();
  });
}

void Group::update_member_locked(GroupMember& m, JoinArgs&& args) {
  m.client_id = std::move(args.client_id);
  m.client_host = std::move(args.client_host);
  m.session_timeout = args.session_timeout;
  m.rebalance_timeout = args.rebalance_timeout;
  m.protocol_type = std::move(args.protocol_type);
  m.protocols = std::move(args.protocols);
}

JoinResult Group::result_for_locked(const GroupMember& m) const {
  JoinResult r;
  r.generation = generation_;
  r.protocol_name = protocol_;
  r.leader = leader_;
  r.member_id = m.id;
  if (m.id == leader_) {
    std::vector<const GroupMember*> ordered;
    for (const auto& [id, other] : members_) ordered.push_back(&other);
    std::sort(ordered.begin(), ordered.end(),
              [](const GroupMember* a, const GroupMember* b) { return a->join_order < b->join_order; });
    for (const GroupMember* other : ordered) r.members.push_back({other->id, other->metadata_for(protocol_)});
  }
  return r;
}

void Group::prepare_rebalance_locked(TimePoint now, const std::string& reason) {
  if (state_ == GroupState::kCompletingRebalance) {
    // Members waiting for an assignment of the old generation must rejoin.
    for (auto& [id, m] : members_) {
      for (auto& cb : m.awaiting_sync) cb(SyncResult{ErrorCode::kRebalanceInProgress, {}});
      m.awaiting_sync.clear();
      m.assignment.clear();
    }
  }
  const bool was_empty = state_ == GroupState::kEmpty;
  state_ = GroupState::kPreparingRebalance;
  std::chrono::milliseconds timeout{0};
  for (const auto& [id, m] : members_) timeout = std::max(timeout, m.rebalance_timeout);
  join_deadline_ = now + timeout;
  // Kafka's initial delay (KIP-134, group.initial.rebalance.delay.ms) lets a
  // group of consumers starting together form in one rebalance instead of
  // one per member.
  join_not_before_ = was_empty ? now + std::min(initial_rebalance_delay_, timeout) : now;
  initial_delay_ = join_not_before_ > now;
  joined_during_delay_ = false;
  host_.info("group '" + id_ + "': preparing rebalance after generation " + std::to_string(generation_) +
             " (" + reason + ")");
  // Operators see the rebalance (and who joined) while it lasts. The commit
  // fence follows the same members at the same generation, as Kafka accepts
  // commits from them while it prepares a rebalance.
  publish_members_locked();
}

// KIP-134: "As new members join the group, up to a maximum of
// max.poll.interval.ms, the rebalance will be delayed further by
// group.initial.rebalance.delay.ms." As Kafka's InitialDelayedJoin does it:
// a window in which a new member joined is followed by another window, and
// none reaches past the rebalance timeout.
void Group::extend_initial_delay_locked(TimePoint now) {
  if (!initial_delay_ || now < join_not_before_) return;
  if (joined_during_delay_ && join_not_before_ < join_deadline_) {
    join_not_before_ = std::min<TimePoint>(join_not_before_ + initial_rebalance_delay_, join_deadline_);
    joined_during_delay_ = false;
    return;
  }
  initial_delay_ = false;
}

void Group::try_complete_join_locked(TimePoint now, bool force) {
  if (state_ != GroupState::kPreparingRebalance) return;
  if (!force) extend_initial_delay_locked(now);
  const bool all_joined =
      std::all_of(members_.begin(), members_.end(), [](const auto& kv) { return kv.second.joining(); });
  if (!force && !(all_joined && now >= join_not_before_)) return;

  std::vector<std::string> late;
  for (const auto& [id, m] : members_) {
    if (!m.joining()) late.push_back(id);
  }
  for (const auto& id : late) {
    host_.info("group '" + id_ + "': member " + id + " did not rejoin within the rebalance timeout; removed");
    remove_member_locked(id, ErrorCode::kUnknownMemberId);
  }
  ++generation_;
  if (members_.empty()) {
    state_ = GroupState::kEmpty;
    protocol_.clear();
    leader_.clear();
    store_snapshot_locked();
    publish_members_locked();
    host_.info("group '" + id_ + "': generation " + std::to_string(generation_) + " is empty");
    return;
  }
  std::vector<std::vector<std::string>> preferences;
  for (const auto& [id, m] : members_) {
    auto& names = preferences.emplace_back();
    for (const auto& p : m.protocols) names.push_back(p.name);
  }
  const auto protocol = select_protocol(preferences);
  if (!protocol) {
    // Join-time checks keep a common protocol; this guards the invariant.
    std::vector<std::string> ids;
    for (const auto& [id, m] : members_) ids.push_back(id);
    for (const auto& id : ids) remove_member_locked(id, ErrorCode::kInconsistentGroupProtocol);
    state_ = GroupState::kEmpty;
    protocol_.clear();
    leader_.clear();
    store_snapshot_locked();
    publish_members_locked();
    return;
  }
  protocol_ = *protocol;
  if (members_.count(leader_) == 0) leader_ = earliest_member_locked()->id;
  state_ = GroupState::kCompletingRebalance;
  for (auto& [id, m] : members_) m.assignment.clear();  // the old generation's
  store_snapshot_locked();
  for (auto& [id, m] : members_) {
    const JoinResult r = result_for_locked(m);
    for (auto& cb : m.awaiting_join) cb(r);
    m.awaiting_join.clear();
    m.touch(now);
  }
  host_.info("group '" + id_ + "': generation " + std::to_string(generation_) + " with " +
             std::to_string(members_.size()) + " member(s), protocol '" + protocol_ + "', leader " + leader_);
}

// ------------------------------------------------------------------ sync

void Group::sync(int32_t generation, const std::string& member_id,
                 const std::vector<MemberAssignment>& assignments, SyncCallback done) {
  std::lock_guard lock(mu_);
  const auto now = clock_.now();
  auto it = members_.find(member_id);
  if (it == members_.end()) {
    done(SyncResult{ErrorCode::kUnknownMemberId, {}});
    return;
  }
  if (generation != generation_) {
    done(SyncResult{ErrorCode::kIllegalGeneration, {}});
    return;
  }
  GroupMember& m = it->second;
  m.touch(now);
  switch (state_) {
    case GroupState::kEmpty:
      done(SyncResult{ErrorCode::kUnknownMemberId, {}});
      return;
    case GroupState::kPreparingRebalance:
      done(SyncResult{ErrorCode::kRebalanceInProgress, {}});
      return;
    case GroupState::kStable:
      done(SyncResult{ErrorCode::kNone, m.assignment});
      return;
    case GroupState::kCompletingRebalance:
      m.awaiting_sync.push_back(std::move(done));
      if (member_id != leader_) return;
      for (auto& [id, other] : members_) {
        other.assignment.clear();
        for (const auto& a : assignments) {
          if (a.member_id == id) other.assignment = a.assignment;
        }
      }
      state_ = GroupState::kStable;
      store_snapshot_locked();
      publish_members_locked();
      for (auto& [id, other] : members_) {
        for (auto& cb : other.awaiting_sync) cb(SyncResult{ErrorCode::kNone, other.assignment});
        other.awaiting_sync.clear();
      }
      host_.info("group '" + id_ + "': generation " + std::to_string(generation_) + " is stable");
      return;
  }
}

// ------------------------------------------------- heartbeat, leave, commit

ErrorCode Group::heartbeat(int32_t generation, const std::string& member_id) {
  std::lock_guard lock(mu_);
  auto it = members_.find(member_id);
  if (it == members_.end()) return ErrorCode::kUnknownMemberId;
  if (generation != generation_) return ErrorCode::kIllegalGeneration;
  it->second.touch(clock_.now());
  // Members learn of a pending rebalance here and rejoin.
  return state_ == GroupState::kPreparingRebalance ? ErrorCode::kRebalanceInProgress : ErrorCode::kNone;
}

ErrorCode Group::leave(const std::string& member_id) {
  std::lock_guard lock(mu_);
  if (members_.count(member_id) == 0) return ErrorCode::kUnknownMemberId;
  const auto now = clock_.now();
  remove_member_locked(member_id, ErrorCode::kUnknownMemberId);
  after_member_left_locked(now, "member " + member_id + " left");
  arm_timer_locked(now);
  return ErrorCode::kNone;
}

void Group::on_snapshot(SnapshotCallback cb) {
  std::lock_guard lock(mu_);
  on_snapshot_ = std::move(cb);
}

void Group::on_members(MembersCallback cb) {
  std::lock_guard lock(mu_);
  on_members_ = std::move(cb);
}

void Group::publish_members_locked() {
  if (!on_members_) return;
  sdk::GroupView view;
  view.group = id_;
  view.state = state_name(state_);
  if (state_ == GroupState::kEmpty) {
    view.generation = KEEL_GENERATION_NONE;
    on_members_(view);
    return;
  }
  view.generation = generation_;
  view.protocol_type = protocol_type_;
  view.protocol = protocol_;
  view.leader_id = leader_;
  const bool consumer = protocol_type_ == "consumer";
  for (const auto& [id, m] : members_) {
    sdk::GroupMemberView member;
    member.member_id = id;
    member.client_id = m.client_id;
    member.client_host = m.client_host;
    if (consumer) member.assignment = assigned_partitions(m.assignment);
    view.members.push_back(std::move(member));
  }
  on_members_(view);
}

void Group::store_snapshot_locked() {
  if (!on_snapshot_) return;
  GroupSnapshot s;
  s.state = state_;
  s.generation = generation_;
  s.protocol_type = protocol_type_;
  s.protocol = protocol_;
  s.leader = leader_;
  std::vector<const GroupMember*> ordered;
  for (const auto& [id, m] : members_) ordered.push_back(&m);
  std::sort(ordered.begin(), ordered.end(),
            [](const GroupMember* a, const GroupMember* b) { return a->join_order < b->join_order; });
  for (const GroupMember* m : ordered) {
    s.members.push_back(GroupSnapshot::Member{m->id, m->client_id, m->client_host, m->session_timeout,
                                              m->rebalance_timeout, m->metadata_for(protocol_),
                                              m->assignment});
  }
  on_snapshot_(s);
}

void Group::restore(const GroupSnapshot& s) {
  std::lock_guard lock(mu_);
  const auto now = clock_.now();
  generation_ = s.generation;
  protocol_type_ = s.protocol_type;
  if (s.members.empty()) return;  // Empty: the generation and type are all there is
  protocol_ = s.protocol;
  leader_ = s.leader;
  std::chrono::milliseconds rebalance{0};
  for (const auto& sm : s.members) {
    GroupMember m;
    m.id = sm.id;
    m.client_id = sm.client_id;
    m.client_host = sm.client_host;
    m.join_order = next_join_order_++;
    m.session_timeout = sm.session_timeout;
    m.rebalance_timeout = sm.rebalance_timeout;
    m.protocol_type = s.protocol_type;
    // Kafka keeps only the chosen protocol's metadata, so does the snapshot:
    // a new member must support that protocol (as after Kafka's load).
    m.protocols = {GroupProtocol{s.protocol, sm.subscription}};
    m.assignment = sm.assignment;
    m.touch(now);  // the session restarts at load (Kafka reschedules every heartbeat)
    rebalance = std::max(rebalance, m.rebalance_timeout);
    members_.emplace(m.id, std::move(m));
  }
  if (s.state == GroupState::kStable) {
    state_ = GroupState::kStable;
  } else {
    // The assignments of this generation were never handed out: its members
    // rejoin (their SyncGroup or heartbeat says REBALANCE_IN_PROGRESS) and
    // those that do not by the rebalance timeout are removed.
    state_ = GroupState::kPreparingRebalance;
    join_deadline_ = now + rebalance;
    join_not_before_ = now;
    for (auto& [id, m] : members_) m.assignment.clear();
  }
  // The kernel's fence forgot the group at the restart: members of this
  // generation may commit again (while rejoining too, as before it).
  publish_members_locked();
  host_.info("group '" + id_ + "': loaded generation " + std::to_string(generation_) + " with " +
             std::to_string(members_.size()) + " member(s) (" + state_name(state_) +
             "); their sessions restart now");
  arm_timer_locked(now);
}

ErrorCode Group::check_commit(int32_t generation, const std::string& member_id) {
  std::lock_guard lock(mu_);
  // Consumers using assign() store offsets without being members.
  if (generation < 0 && state_ == GroupState::kEmpty) return ErrorCode::kNone;
  if (state_ == GroupState::kCompletingRebalance) return ErrorCode::kRebalanceInProgress;
  auto it = members_.find(member_id);
  if (it == members_.end()) return ErrorCode::kUnknownMemberId;
  if (generation != generation_) return ErrorCode::kIllegalGeneration;
  // Allowed while preparing a rebalance: members commit before rejoining.
  it->second.touch(clock_.now());
  return ErrorCode::kNone;
}

// ------------------------------------------------------ membership changes

void Group::remove_member_locked(const std::string& member_id, ErrorCode error) {
  auto it = members_.find(member_id);
  if (it == members_.end()) return;
  for (auto& cb : it->second.awaiting_join) cb(join_error(error, member_id));
  for (auto& cb : it->second.awaiting_sync) cb(SyncResult{error, {}});
  members_.erase(it);
  if (leader_ == member_id) {
    const GroupMember* next = earliest_member_locked();
    leader_ = next ? next->id : std::string();
  }
}

void Group::after_member_left_locked(TimePoint now, const std::string& reason) {
  if (state_ == GroupState::kStable || state_ == GroupState::kCompletingRebalance) {
    prepare_rebalance_locked(now, reason);
  }
  try_complete_join_locked(now, false);
}

void Group::expire_sessions_locked(TimePoint now) {
  std::vector<std::string> expired;
  for (const auto& [id, m] : members_) {
    if (!m.joining() && m.deadline <= now) expired.push_back(id);
  }
  if (expired.empty()) return;
  for (const auto& id : expired) {
    host_.info("group '" + id_ + "': session of member " + id + " expired (no heartbeat within " +
               std::to_string(members_.at(id).session_timeout.count()) + " ms); removed");
    remove_member_locked(id, ErrorCode::kUnknownMemberId);
  }
  after_member_left_locked(now, "session expired");
}

const GroupMember* Group::earliest_member_locked() const {
  const GroupMember* best = nullptr;
  for (const auto& [id, m] : members_) {
    if (!best || m.join_order < best->join_order) best = &m;
  }
  return best;
}

// ----------------------------------------------------------------- timer

// One timer per group wakes at the earliest moment something may be due
// (a session end, the join deadline); whatever fires re-checks everything
// and re-arms, so heartbeats only move deadlines and never touch the timer.
void Group::arm_timer_locked(TimePoint now) {
  auto next = TimePoint::max();
  for (const auto& [id, m] : members_) {
    if (!m.joining()) next = std::min(next, m.deadline);
  }
  if (state_ == GroupState::kPreparingRebalance) {
    next = std::min(next, join_deadline_);
    if (join_not_before_ > now) next = std::min(next, join_not_before_);
  }
  if (next >= timer_at_) return;  // an earlier wake-up re-arms
  timer_at_ = next;
  // A real timer, in the clock's time: tick() re-reads the clock, so an
  // early or late wake-up only costs one more wake-up.
  timer_.expires_after(std::chrono::duration_cast<boost::asio::steady_timer::duration>(next - now));
  timer_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
    if (ec) return;  // re-armed or destroyed
    if (auto self = weak.lock()) self->tick();
  });
}

void Group::tick() {
  std::lock_guard lock(mu_);
  const auto now = clock_.now();
  timer_at_ = TimePoint::max();
  try_complete_join_locked(now, state_ == GroupState::kPreparingRebalance && now >= join_deadline_);
  expire_sessions_locked(now);
  arm_timer_locked(now);
}

// -------------------------------------------------------------- describe

GroupSummary Group::describe() const {
  std::lock_guard lock(mu_);
  GroupSummary s;
  s.group_id = id_;
  s.state = state_name(state_);
  s.protocol_type = protocol_type_;
  const bool stable = state_ == GroupState::kStable;
  if (stable) s.protocol = protocol_;
  for (const auto& [id, m] : members_) {
    MemberSummary ms{id, m.client_id, m.client_host, {}, {}};
    if (stable) {
      ms.metadata = m.metadata_for(protocol_);
      ms.assignment = m.assignment;
    }
    s.members.push_back(std::move(ms));
  }
  return s;
}

Group::Usage Group::usage() const {
  std::lock_guard lock(mu_);
  Usage u;
  u.has_members = !members_.empty();
  u.protocol_type = protocol_type_;
  u.topics.emplace();
  for (const auto& [id, m] : members_) {
    // Every protocol of a consumer carries the same subscription; the
    // chosen one's when there is one.
    const std::string& metadata =
        protocol_.empty() && !m.protocols.empty() ? m.protocols.front().metadata : m.metadata_for(protocol_);
    auto topics = subscribed_topics(metadata);
    if (!topics) {
      u.topics.reset();
      break;
    }
    u.topics->insert(topics->begin(), topics->end());
  }
  return u;
}

std::string Group::protocol_type() const {
  std::lock_guard lock(mu_);
  return protocol_type_;
}

bool Group::idle() const {
  std::lock_guard lock(mu_);
  return state_ == GroupState::kEmpty && members_.empty();
}

}  // namespace keel::kafka
