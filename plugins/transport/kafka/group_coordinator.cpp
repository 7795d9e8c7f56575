#include "group_coordinator.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <condition_variable>
#include <optional>

#include "group.hpp"
#include "services.hpp"

namespace keel::kafka {

GroupCoordinator::GroupCoordinator(Services& services) : services_(services), clock_(services.host) {}

// Runs after the I/O threads stopped: no timer handler can be running.
GroupCoordinator::~GroupCoordinator() = default;

std::shared_ptr<Group> GroupCoordinator::find(const std::string& group_id) const {
  std::lock_guard lock(mu_);
  auto it = groups_.find(group_id);
  return it == groups_.end() ? nullptr : it->second;
}

// A group's snapshots are written one at a time and in order, each by a
// task on the I/O pool (a write may wait for a sync, so never under the
// group's lock); a snapshot taken while one is being written replaces any
// older one still waiting, so only the newest of a burst is written.
struct GroupCoordinator::SnapshotWriter {
  std::mutex mu;
  std::condition_variable stored;   // storing became false
  std::optional<std::string> next;  // waiting to be written
  bool writing = false;             // a task is queued or draining `next`
  bool storing = false;             // a store call is running (on another thread)
  bool cancelled = false;           // the group was deleted: write nothing more

  // Drops what waits and returns once no store call is running: nothing of
  // the group is stored after this returns. A queued task that has not
  // started finds nothing to write (it is not waited for: it may need the
  // very I/O thread that calls this).
  void cancel() {
    std::unique_lock lock(mu);
    cancelled = true;
    next.reset();
    stored.wait(lock, [&] { return !storing; });
  }
};

std::optional<GroupSnapshot> GroupCoordinator::stored_snapshot(const std::string& group_id) const {
  auto stored = services_.broker.group_metadata(group_id);
  if (!stored) return std::nullopt;
  try {
    return parse_snapshot(*stored);
  } catch (const std::exception& e) {
    services_.host.warn(
        "group '" + group_id + "': its stored metadata is unreadable (" + e.what() +
        "); the group starts empty and its members join afresh. Stored: " + stored->substr(0, 200));
    return std::nullopt;
  }
}

void GroupCoordinator::write_snapshot(const std::string& group_id, const std::shared_ptr<SnapshotWriter>& w,
                                      std::string text) {
  std::lock_guard lock(w->mu);
  if (w->cancelled) return;
  w->next = std::move(text);
  if (w->writing) return;
  w->writing = true;
  boost::asio::post(services_.io, [this, group_id, w] {
    for (;;) {
      std::string text;
      {
        std::lock_guard lock(w->mu);
        if (!w->next) {
          w->writing = false;
          return;
        }
        text = std::move(*w->next);
        w->next.reset();
        w->storing = true;
      }
      std::string message;
      const keel_status s = services_.broker.store_group_metadata(group_id, text, &message);
      if (s != KEEL_OK && s != KEEL_ERR_UNSUPPORTED) {
        services_.host.warn("group '" + group_id +
                            "': storing its members and generation failed (after a restart its members "
                            "rejoin): " +
                            message);
      }
      std::lock_guard lock(w->mu);
      w->storing = false;
      w->stored.notify_all();
    }
  });
}

std::shared_ptr<Group> GroupCoordinator::find_or_create(const std::string& group_id) {
  std::lock_guard lock(mu_);
  if (groups_.size() >= sweep_at_ && groups_.count(group_id) == 0) forget_idle_locked();
  auto& slot = groups_[group_id];
  if (!slot) {
    services_.broker.gauge_set("keel_consumer_groups_in_memory", {{"transport", "kafka"}},
                               static_cast<double>(groups_.size()));
    slot = std::make_shared<Group>(
        group_id, services_.io.get_executor(),
        std::chrono::milliseconds(services_.settings.group_initial_rebalance_delay_ms), services_.host,
        clock_);
    // The kernel fences commits with what the group protocol settles on:
    // an HTTP or stale commit cannot overwrite a live group's offsets. In
    // memory, no I/O: called directly, under the group's lock, in order.
    slot->on_members([this, group_id](const sdk::GroupView& view) {
      std::string message;
      if (services_.broker.publish_group(view, &message) != KEEL_OK) {
        services_.host.warn("group '" + group_id + "': publishing generation " +
                            std::to_string(view.generation) +
                            " to the broker's commit fence failed: " + message);
      }
    });
    if (auto stored = stored_snapshot(group_id)) slot->restore(*stored);
    auto& writer = writers_[group_id];
    writer = std::make_shared<SnapshotWriter>();
    slot->on_snapshot([this, group_id, w = writer](const GroupSnapshot& s) {
      write_snapshot(group_id, w, format_snapshot(s));
    });
  }
  return slot;
}

// Kafka loads every group of its offsets partitions when it becomes their
// coordinator; so does Keel at start: a group stored with members is back in
// memory before the first request, its members' sessions running, so that a
// member that never returns is expired and the rest rebalance.
void GroupCoordinator::load() {
  size_t loaded = 0;
  for (const auto& g : services_.broker.list_groups()) {
    auto stored = stored_snapshot(g);
    if (!stored || stored->members.empty()) continue;  // nothing runs in an empty group
    find_or_create(g);
    ++loaded;
  }
  if (loaded > 0) services_.host.info("loaded " + std::to_string(loaded) + " consumer group(s) with members");
}

// Without this the registry would keep every group id ever used (one per
// `kcat -G` run with a fresh group, say). A group is dropped only when it is
// idle and the map holds its only reference: every other holder got it under
// mu_, so none can be about to use it, and a later join re-creates it from
// the stored metadata. Sweeps double their threshold, so their cost stays
// proportional to the groups created.
void GroupCoordinator::forget_idle_locked() {
  for (auto it = groups_.begin(); it != groups_.end();) {
    if (it->second.use_count() == 1 && it->second->idle()) {
      writers_.erase(it->first);  // its last write may still run: the task holds the writer
      it = groups_.erase(it);
    } else {
      ++it;
    }
  }
  sweep_at_ = std::max<size_t>(64, 2 * groups_.size());
}

void GroupCoordinator::join(const std::string& group_id, JoinArgs args, JoinCallback done) {
  // A member id from before a restart (or from an expired session) is
  // unknown; the client then joins afresh with an empty one.
  auto group = args.member_id.empty() ? find_or_create(group_id) : find(group_id);
  if (!group) {
    JoinResult r;
    r.error = ErrorCode::kUnknownMemberId;
    r.member_id = args.member_id;
    done(r);
    return;
  }
  group->join(std::move(args), std::move(done));
}

void GroupCoordinator::sync(const std::string& group_id, int32_t generation, const std::string& member_id,
                            const std::vector<MemberAssignment>& assignments, SyncCallback done) {
  auto group = find(group_id);
  if (!group) {
    done(SyncResult{ErrorCode::kUnknownMemberId, {}});
    return;
  }
  group->sync(generation, member_id, assignments, std::move(done));
}

ErrorCode GroupCoordinator::heartbeat(const std::string& group_id, int32_t generation,
                                      const std::string& member_id) {
  auto group = find(group_id);
  return group ? group->heartbeat(generation, member_id) : ErrorCode::kUnknownMemberId;
}

ErrorCode GroupCoordinator::leave(const std::string& group_id, const std::string& member_id) {
  auto group = find(group_id);
  return group ? group->leave(member_id) : ErrorCode::kUnknownMemberId;
}

ErrorCode GroupCoordinator::check_commit(const std::string& group_id, int32_t generation,
                                         const std::string& member_id) {
  auto group = find(group_id);
  if (group) return group->check_commit(generation, member_id);
  // No member ever joined since the start: only commits outside group
  // management (generation -1) make sense; a generation is from before a
  // restart, and the client must rejoin.
  return generation < 0 ? ErrorCode::kNone : ErrorCode::kIllegalGeneration;
}

std::vector<std::pair<std::string, std::string>> GroupCoordinator::list() const {
  std::map<std::string, std::string> out;
  // Groups known only from the offsets store (none of their members came
  // back since a restart) describe themselves from what was stored.
  for (auto& g : services_.broker.list_groups()) {
    auto stored = stored_snapshot(g);
    out.emplace(std::move(g), stored ? stored->protocol_type : std::string());
  }
  std::vector<std::shared_ptr<Group>> groups;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, g] : groups_) groups.push_back(g);
  }
  for (const auto& g : groups) {
    std::string type = g->protocol_type();
    auto& slot = out[g->id()];
    if (!type.empty()) slot = std::move(type);
  }
  return {out.begin(), out.end()};
}

GroupSummary GroupCoordinator::describe(const std::string& group_id) const {
  if (auto group = find(group_id)) return group->describe();
  GroupSummary s;
  s.group_id = group_id;
  s.state = "Dead";
  for (const auto& g : services_.broker.list_groups()) {
    if (g == group_id) s.state = "Empty";
  }
  if (auto stored = stored_snapshot(group_id)) s.protocol_type = stored->protocol_type;
  return s;
}

}  // namespace keel::kafka

namespace keel::kafka {

ErrorCode GroupCoordinator::delete_group(const std::string& group_id) {
  bool in_memory = false;
  std::shared_ptr<SnapshotWriter> writer;
  {
    std::lock_guard lock(mu_);
    auto it = groups_.find(group_id);
    if (it != groups_.end()) {
      if (!it->second->idle()) return ErrorCode::kNonEmptyGroup;
      // Dead from now on: a join starts a new group, from generation 0 once
      // the stored metadata is gone, as Kafka's would.
      groups_.erase(it);
      in_memory = true;
    }
    if (auto w = writers_.find(group_id); w != writers_.end()) {
      writer = std::move(w->second);
      writers_.erase(w);
    }
  }
  // The snapshot of the group's last change (it emptied) may still be on
  // its way to the store: it must not land after the deletion and bring the
  // group back.
  if (writer) writer->cancel();
  std::string message;
  const keel_status s = services_.broker.delete_group(group_id, &message);
  switch (s) {
    case KEEL_OK:
      services_.host.info("group '" + group_id + "' deleted (its committed offsets and stored metadata)");
      return ErrorCode::kNone;
    case KEEL_ERR_NOT_FOUND:
      return in_memory ? ErrorCode::kNone : ErrorCode::kGroupIdNotFound;
    case KEEL_ERR_FENCED:  // members published since the check above
      return ErrorCode::kNonEmptyGroup;
    case KEEL_ERR_INVALID_NAME:
      return ErrorCode::kInvalidGroupId;
    default:
      services_.host.warn("deleting group '" + group_id + "' failed: " + message);
      return ErrorCode::kCoordinatorNotAvailable;  // retriable: the tombstones could not be made durable
  }
}

GroupCoordinator::OffsetDeleteRule GroupCoordinator::offset_delete_rule(const std::string& group_id) const {
  OffsetDeleteRule rule;
  auto group = find(group_id);
  if (!group && !services_.broker.group_metadata(group_id) &&
      services_.broker.group_offsets(group_id).empty()) {
    rule.error = ErrorCode::kGroupIdNotFound;
    return rule;
  }
  if (!group) return rule;  // empty: any offset may go
  const Group::Usage u = group->usage();
  if (!u.has_members) return rule;
  if (u.protocol_type != "consumer") {
    rule.error = ErrorCode::kNonEmptyGroup;
  } else if (!u.topics) {
    rule.every_topic_subscribed = true;
  } else {
    rule.subscribed = *u.topics;
  }
  return rule;
}

}  // namespace keel::kafka
