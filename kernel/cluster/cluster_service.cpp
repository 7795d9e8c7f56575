#include "cluster/cluster_service.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <functional>
#include <keel/thread_name.hpp>
#include <map>

#include "cluster/controller_plan.hpp"
#include "common/clock.hpp"
#include "common/error.hpp"
#include "observability/outage_log.hpp"

namespace keel {

ClusterService::ClusterService(const ClusterConfig& config, std::unique_ptr<CoordinatorInstance> coordinator,
                               ClusterView& view, ClusterHost& host)
    : config_(config),
      keys_{config.cluster_id + "/"},
      coordinator_(std::move(coordinator)),
      view_(view),
      host_(host) {
  view_.on_listeners_changed([this] {
    std::lock_guard lock(mu_);
    listeners_changed_ = true;
    cv_.notify_all();
  });
}

ClusterService::~ClusterService() { stop(); }

void ClusterService::start() {
  thread_ = std::thread([this] {
    name_this_thread("cluster");
    run();
  });
}

void ClusterService::stop() {
  {
    std::lock_guard lock(mu_);
    if (stop_ && !thread_.joinable() && !coordinator_) return;
    stop_ = true;
    cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
  view_.on_listeners_changed(nullptr);
  // From now on this broker leads nothing, whatever the store says until
  // the session's end reaches it.
  state_.brokers.erase(config_.broker_id);
  publish_view();
  if (watch_id_ && coordinator_) coordinator_->unwatch(*watch_id_);
  watch_id_.reset();
  // Destroying the coordinator ends the session: brokers/<id> and, if we
  // held it, the controller key vanish now rather than after the TTL.
  coordinator_.reset();
}

void ClusterService::topic_created(const std::string& name, int32_t partitions,
                                   const std::string& settings_toml, bool internal,
                                   int32_t replication_factor) {
  std::lock_guard lock(mu_);
  topic_ops_.push_back(TopicOp{
      true, ClusterHost::LocalTopic{name, partitions, settings_toml, internal, false, replication_factor}});
  cv_.notify_all();
}

void ClusterService::topic_deleted(const std::string& name) {
  std::lock_guard lock(mu_);
  topic_ops_.push_back(TopicOp{false, ClusterHost::LocalTopic{name, 0, "", false, false}});
  cv_.notify_all();
}

void ClusterService::propose_isr(const std::string& topic, int32_t partition, int32_t leader_epoch,
                                 std::vector<int32_t> add, std::vector<int32_t> remove) {
  std::lock_guard lock(mu_);
  isr_proposals_.push_back(
      IsrProposal{PartitionId{topic, partition}, leader_epoch, std::move(add), std::move(remove)});
  cv_.notify_all();
}

void ClusterService::write_isr_proposals() {
  std::vector<IsrProposal> proposals;
  {
    std::lock_guard lock(mu_);
    proposals.swap(isr_proposals_);
  }
  for (const auto& p : proposals) {
    auto it = state_.partitions.find(p.id);
    if (it == state_.partitions.end()) continue;
    const PartitionRecord& cur = it->second.record;
    if (cur.leader != config_.broker_id || cur.leader_epoch != p.leader_epoch) continue;
    PartitionRecord next = cur;
    std::erase_if(next.isr, [&](int32_t id) {
      return id != cur.leader && std::find(p.remove.begin(), p.remove.end(), id) != p.remove.end();
    });
    for (int32_t id : p.add) {
      if (std::find(next.isr.begin(), next.isr.end(), id) == next.isr.end()) next.isr.push_back(id);
    }
    if (next.isr == cur.isr) continue;
    const std::string key = keys_.partition(p.id.first, p.id.second);
    // The leader's write: no controller fence (the controller epoch is the
    // controller's), but the key's revision, so that a zombie leader whose
    // partition was given to another broker changes nothing.
    const auto r =
        coordinator_->txn({CoordCompare{key, KEEL_COORD_CMP_MOD_REVISION, it->second.mod_revision}},
                          {CoordOp{KEEL_COORD_OP_PUT, key, encode(next), false}});
    if (r.succeeded) {
      spdlog::info("cluster: partition {}-{}: isr [{}] -> [{}] (leader {}, epoch {})", p.id.first,
                   p.id.second, fmt::join(cur.isr, ","), fmt::join(next.isr, ","), cur.leader,
                   cur.leader_epoch);
      // The state follows the watch; until the event comes, plan from the
      // written record (a second proposal in this round builds on it).
      it->second.record = next;
      it->second.mod_revision = r.revision;
    } else {
      spdlog::debug("cluster: partition {}-{} changed before its ISR change was written; dropped", p.id.first,
                    p.id.second);
    }
  }
}

void ClusterService::grow_topic(const std::string& name, int32_t total, int64_t timeout_ms) {
  auto op = std::make_shared<GrowOp>();
  op->name = name;
  op->total = total;
  run_topic_op(op, timeout_ms);
}

void ClusterService::set_topic_settings(const std::string& name, const std::string& settings_toml,
                                        int64_t timeout_ms) {
  auto op = std::make_shared<GrowOp>();
  op->name = name;
  op->settings = settings_toml;
  run_topic_op(op, timeout_ms);
}

void ClusterService::run_topic_op(const std::shared_ptr<GrowOp>& op, int64_t timeout_ms) {
  const std::string& name = op->name;
  std::unique_lock lock(mu_);
  grow_ops_.push_back(op);
  cv_.notify_all();
  if (!cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] { return op->done || stop_; })) {
    std::erase(grow_ops_, op);
    fail(KEEL_ERR_UNAVAILABLE,
         "topic '" + name + "': the cluster did not take the change within " + std::to_string(timeout_ms) +
             " ms (is the coordinator reachable?); it may still: check the topic before retrying");
  }
  if (!op->done) fail(KEEL_ERR_UNAVAILABLE, "the broker is shutting down");
  if (op->status != KEEL_OK) fail(op->status, op->message);
}

void ClusterService::grow_topics() {
  std::vector<std::shared_ptr<GrowOp>> ops;
  {
    std::lock_guard lock(mu_);
    ops = grow_ops_;
  }
  for (const auto& op : ops) {
    keel_status status = KEEL_OK;
    std::string message;
    auto it = state_.topics.find(op->name);
    const auto count =
        it == state_.topics.end() ? 0 : static_cast<int32_t>(it->second.record.assignment.size());
    if (it == state_.topics.end()) {
      status = KEEL_ERR_NOT_FOUND;
      message = "topic '" + op->name + "' is not placed in cluster '" + config_.cluster_id +
                "' yet (it waits for brokers, or was deleted); retry once it is";
    } else if (op->settings) {
      TopicRecord next = it->second.record;
      next.settings_toml = *op->settings;
      const std::string key = keys_.topic(op->name);
      const auto r =
          coordinator_->txn({CoordCompare{key, KEEL_COORD_CMP_MOD_REVISION, it->second.mod_revision}},
                            {CoordOp{KEEL_COORD_OP_PUT, key, encode(next), false}});
      if (!r.succeeded) continue;  // changed meanwhile: runs again on the next round
      it->second.record = next;
      it->second.mod_revision = r.revision;
      spdlog::info("cluster: topic '{}' has new settings in cluster '{}'", op->name, config_.cluster_id);
    } else if (op->total <= count) {
      status = KEEL_ERR_INVALID_ARGUMENT;
      message = "topic '" + op->name + "' has " + std::to_string(count) + " partitions in cluster '" +
                config_.cluster_id + "'; the new count " + std::to_string(op->total) +
                " must be larger (partitions are never removed)";
    } else {
      std::vector<int32_t> live;
      for (const auto& [id, _] : state_.brokers) live.push_back(id);
      TopicRecord next = it->second.record;
      const auto rf = static_cast<int32_t>(next.assignment.empty() ? 1 : next.assignment.front().size());
      const auto start =
          static_cast<uint32_t>(std::hash<std::string>{}(op->name)) + static_cast<uint32_t>(count);
      for (auto& replicas : assign_replicas(op->total - count, rf, live, start)) {
        next.assignment.push_back(std::move(replicas));
      }
      const std::string key = keys_.topic(op->name);
      const auto r =
          coordinator_->txn({CoordCompare{key, KEEL_COORD_CMP_MOD_REVISION, it->second.mod_revision}},
                            {CoordOp{KEEL_COORD_OP_PUT, key, encode(next), false}});
      if (!r.succeeded) continue;  // changed meanwhile: the watch brings it, then this op runs again
      it->second.record = next;
      it->second.mod_revision = r.revision;
      spdlog::info("cluster: topic '{}' grew from {} to {} partitions in cluster '{}'", op->name, count,
                   op->total, config_.cluster_id);
    }
    std::lock_guard lock(mu_);
    op->status = status;
    op->message = message;
    op->done = true;
    std::erase(grow_ops_, op);
    cv_.notify_all();
  }
}

void ClusterService::run() {
  OutageLog outage(10000);  // the first failure, then one line per 10 s
  while (true) {
    {
      std::lock_guard lock(mu_);
      if (stop_) return;
    }
    try {
      if (!joined_) join_cluster();
      drain_events();
      if (!joined_) continue;  // the session was lost meanwhile: join again
      // Readers see the news before this thread acts on it: a client that
      // auto-creates a topic the cluster just published gets its count.
      publish_view();
      bool listeners = false;
      {
        std::lock_guard lock(mu_);
        std::swap(listeners, listeners_changed_);
      }
      if (listeners) update_registration();
      if (!published_declared_) {
        bool all = true;
        for (const auto& t : host_.local_topics()) {
          if (t.declared || t.internal) all = publish_topic(t) && all;
        }
        published_declared_ = all;
      }
      // Each op leaves the queue only once done: a failure keeps it (and
      // those behind it) for the retry.
      while (true) {
        TopicOp op;
        {
          std::lock_guard lock(mu_);
          if (topic_ops_.empty()) break;
          op = topic_ops_.front();
        }
        if (op.create) {
          if (!publish_topic(op.topic)) break;  // waits for brokers; retried on the next round
        } else {
          unpublish_topic(op.topic.name);
        }
        std::lock_guard lock(mu_);
        topic_ops_.pop_front();
      }
      campaign();
      grow_topics();
      write_isr_proposals();
      lead_partitions();
      sync_local_topics();
      publish_view();
      if (const int64_t failed = outage.recovered(); failed > 0) {
        spdlog::info("cluster: connected to coordinator '{}' again after {} failed attempt(s)",
                     coordinator_->name(), failed);
      }
      wait_for_work(1000);
    } catch (const Error& e) {
      // A broker that cannot reach its coordinator says so, with the
      // endpoint, without flooding.
      if (outage.failed(monotonic_ms())) {
        spdlog::warn("cluster: {} (attempt {}; retrying every {} ms{})", e.what(), outage.failures(),
                     config_.retry_backoff_ms, joined_ ? "" : "; not a member of the cluster meanwhile");
      } else {
        spdlog::debug("cluster: {} (attempt {})", e.what(), outage.failures());
      }
      wait_for_work(config_.retry_backoff_ms);
    }
  }
}

void ClusterService::join_cluster() {
  const CoordSession s = coordinator_->open_session();
  session_ttl_ms_ = s.ttl_ms;
  register_broker();
  load_state();
  view_.unfence();  // a new session: this broker counts again from the next publish
  joined_ = true;
  spdlog::info("cluster '{}': broker {} joined (session {}, ttl {} ms, broker epoch {})", config_.cluster_id,
               config_.broker_id, s.id, s.ttl_ms,
               state_.brokers.count(config_.broker_id) ? state_.brokers.at(config_.broker_id).epoch : 0);
}

void ClusterService::register_broker() {
  const std::string key = keys_.broker(config_.broker_id);
  const auto r = coordinator_->txn({CoordCompare{key, KEEL_COORD_CMP_CREATE_REVISION, 0}},
                                   {CoordOp{KEEL_COORD_OP_PUT, key, encode(view_.self_record()), true}});
  if (!r.succeeded) {
    fail(KEEL_ERR_UNAVAILABLE,
         "broker id " + std::to_string(config_.broker_id) + " is registered in cluster '" +
             config_.cluster_id +
             "' by another session: either another broker has the same [cluster] broker_id "
             "(give each broker its own), or this is this broker's previous run, whose "
             "session expires within its TTL");
  }
}

void ClusterService::update_registration() {
  const std::string key = keys_.broker(config_.broker_id);
  auto it = state_.brokers.find(config_.broker_id);
  if (it == state_.brokers.end()) return;  // re-registered with the new listeners on the next join
  const BrokerRecord me = view_.self_record();
  if (me == it->second.record) return;
  const auto r = coordinator_->txn({CoordCompare{key, KEEL_COORD_CMP_MOD_REVISION, it->second.mod_revision}},
                                   {CoordOp{KEEL_COORD_OP_PUT, key, encode(me), true}});
  if (!r.succeeded) {
    // Our registration changed under us (the session expired): join anew.
    leave_cluster("broker " + std::to_string(config_.broker_id) +
                  "'s registration changed in the coordinator");
    std::lock_guard lock(mu_);
    listeners_changed_ = true;
  }
}

void ClusterService::load_state() {
  if (watch_id_) coordinator_->unwatch(*watch_id_);
  watch_id_.reset();
  {
    std::lock_guard lock(mu_);
    events_.clear();
  }
  const CoordRange range = coordinator_->range(keys_.root, true);
  std::vector<std::string> problems;
  state_ = ClusterState::from_range(keys_, range, &problems);
  for (const auto& p : problems) spdlog::error("cluster: {}", p);
  watch_id_ = coordinator_->watch(keys_.root, range.revision + 1, [this](const CoordEvent& e) {
    // A lost session fences this broker here, on the coordinator's thread:
    // the cluster thread may be blocked for a whole call timeout in a
    // request to the store it cannot reach, and meanwhile another broker
    // may already lead what this one still leads (a zombie taking acks=1
    // writes and serving reads). It handles the event (leave, join again)
    // when it gets to it.
    if (e.type == KEEL_COORD_EVENT_SESSION_LOST && view_.fence()) {
      spdlog::warn(
          "cluster '{}': broker {}'s coordinator session was lost: it leads nothing from now on, "
          "until it joins again",
          config_.cluster_id, config_.broker_id);
    }
    std::lock_guard lock(mu_);
    events_.push_back(e);
    cv_.notify_all();
  });
}

void ClusterService::drain_events() {
  std::deque<CoordEvent> events;
  {
    std::lock_guard lock(mu_);
    events.swap(events_);
  }
  for (const auto& e : events) {
    if (e.type == KEEL_COORD_EVENT_SESSION_LOST) {
      leave_cluster("the coordinator session was lost (expired or not renewed within its TTL)");
      return;
    }
    if (e.type == KEEL_COORD_EVENT_RESYNC) {
      spdlog::warn("cluster: the coordinator lost the history this broker was following; reading it again");
      load_state();
      return;
    }
    const bool topic_key = e.kv.key.rfind(keys_.topics(), 0) == 0;
    if (topic_key && e.type == KEEL_COORD_EVENT_DELETE) {
      topics_removed_.push_back(e.kv.key.substr(keys_.topics().size()));
    }
    std::string problem;
    if (!state_.apply(keys_, e, &problem)) spdlog::error("cluster: {}", problem);
    if (e.kv.key == keys_.broker(config_.broker_id) && e.type == KEEL_COORD_EVENT_DELETE) {
      leave_cluster("broker " + std::to_string(config_.broker_id) + "'s registration was removed");
      return;
    }
  }
}

void ClusterService::campaign() {
  if (state_.controller_id >= 0) {
    // Another broker's, or ours from this session.
    controller_epoch_ = state_.controller_id == config_.broker_id ? state_.controller_epoch : 0;
    return;
  }
  const std::string key = keys_.controller();
  const auto r =
      coordinator_->txn({CoordCompare{key, KEEL_COORD_CMP_CREATE_REVISION, 0}},
                        {CoordOp{KEEL_COORD_OP_PUT, key, encode(ControllerRecord{config_.broker_id}), true}});
  if (r.succeeded) {
    // The key was created by this transaction: its create_revision, the
    // controller epoch, is the transaction's revision.
    controller_epoch_ = r.revision;
    state_.controller_id = config_.broker_id;
    state_.controller_epoch = r.revision;
    spdlog::info("cluster '{}': broker {} is the controller (epoch {})", config_.cluster_id,
                 config_.broker_id, r.revision);
  }
}

void ClusterService::lead_partitions() {
  if (controller_epoch_ == 0) {
    broker_epochs_.clear();  // a controller again later starts from what it sees then
    last_rebalance_ms_ = 0;
    return;
  }
  // Brokers that registered again since the last round (a new broker
  // epoch) are treated as failed once, as Kafka's controller does.
  std::set<int32_t> restarted;
  std::map<int32_t, int64_t> epochs;
  for (const auto& [id, b] : state_.brokers) {
    epochs[id] = b.epoch;
    auto seen = broker_epochs_.find(id);
    if (seen != broker_epochs_.end() && seen->second != b.epoch) restarted.insert(id);
  }
  if (!restarted.empty()) {
    spdlog::info(
        "cluster: broker(s) {} registered again (new broker epoch): moving their leaderships and "
        "removing them from every ISR until they catch up",
        fmt::join(restarted, ","));
  }
  // A failed write keeps the restarts pending for the next round.
  if (write_partitions(plan_leadership(state_, controller_epoch_, restarted), "")) {
    broker_epochs_ = std::move(epochs);
  }
  if (config_.leader_rebalance_interval_ms > 0) {
    const int64_t now = monotonic_ms();
    if (last_rebalance_ms_ == 0) last_rebalance_ms_ = now;  // first a full interval as controller
    if (now - last_rebalance_ms_ >= config_.leader_rebalance_interval_ms) {
      last_rebalance_ms_ = now;
      write_partitions(plan_preferred_leaders(state_, controller_epoch_), " (back to its preferred replica)");
    }
  }
}

bool ClusterService::write_partitions(const std::vector<PartitionWrite>& writes, const char* why) {
  for (const PartitionWrite& w : writes) {
    const std::string key = keys_.partition(w.id.first, w.id.second);
    const auto r = coordinator_->txn(
        {CoordCompare{key, KEEL_COORD_CMP_MOD_REVISION, w.expected_mod_revision},
         CoordCompare{keys_.controller(), KEEL_COORD_CMP_CREATE_REVISION, controller_epoch_}},
        {CoordOp{KEEL_COORD_OP_PUT, key, encode(w.record), false}});
    if (!r.succeeded) {
      // Someone else wrote first (or we are no longer the controller): the
      // watch brings the news; plan again from it.
      spdlog::debug("cluster: partition {}-{} changed meanwhile; planning again", w.id.first, w.id.second);
      return false;
    }
    spdlog::info("cluster: partition {}-{}: leader {} epoch {} isr [{}]{}", w.id.first, w.id.second,
                 w.record.leader, w.record.leader_epoch, fmt::join(w.record.isr, ","), why);
  }
  return true;
}

bool ClusterService::publish_topic(const ClusterHost::LocalTopic& t) {
  if (auto it = state_.topics.find(t.name); it != state_.topics.end()) {
    if (static_cast<int32_t>(it->second.record.assignment.size()) != t.partitions) {
      spdlog::debug(
          "cluster: topic '{}' has {} partitions here and {} in cluster '{}'; the cluster's count wins",
          t.name, t.partitions, it->second.record.assignment.size(), config_.cluster_id);
    }
    return true;
  }
  std::vector<int32_t> live;
  for (const auto& [id, _] : state_.brokers) live.push_back(id);
  const int32_t rf = t.replication_factor > 0 ? t.replication_factor : config_.default_replication_factor;
  if (static_cast<int32_t>(live.size()) < rf) {
    // As Kafka's offsets.topic.replication.factor: a topic is placed only
    // once enough brokers are up for all its replicas, never with fewer
    // copies than the operator asked for.
    if (waiting_for_brokers_.insert(t.name).second) {
      spdlog::warn(
          "cluster: topic '{}' waits for {} live brokers (its replication factor) before it is placed; {} "
          "are "
          "up. Start more brokers, or lower its replication_factor ([cluster] default_replication_factor "
          "unless the topic sets its own)",
          t.name, rf, live.size());
    }
    return false;
  }
  waiting_for_brokers_.erase(t.name);
  TopicRecord rec;
  rec.assignment =
      assign_replicas(t.partitions, rf, live, static_cast<uint32_t>(std::hash<std::string>{}(t.name)));
  rec.settings_toml = t.settings_toml;
  rec.internal = t.internal;
  const std::string key = keys_.topic(t.name);
  const auto r = coordinator_->txn({CoordCompare{key, KEEL_COORD_CMP_CREATE_REVISION, 0}},
                                   {CoordOp{KEEL_COORD_OP_PUT, key, encode(rec), false}});
  if (r.succeeded) {
    spdlog::info("cluster: published topic '{}' ({} partitions, {} replicas each)", t.name, t.partitions,
                 rec.assignment.empty() ? 0 : rec.assignment.front().size());
  }
  return true;
}

void ClusterService::unpublish_topic(const std::string& name) {
  auto it = state_.topics.find(name);
  if (it == state_.topics.end()) return;
  std::vector<CoordOp> ops{CoordOp{KEEL_COORD_OP_DELETE, keys_.topic(name), "", false}};
  for (size_t p = 0; p < it->second.record.assignment.size(); ++p) {
    ops.push_back(CoordOp{KEEL_COORD_OP_DELETE, keys_.partition(name, static_cast<int32_t>(p)), "", false});
  }
  coordinator_->txn({CoordCompare{keys_.topic(name), KEEL_COORD_CMP_MOD_REVISION, it->second.mod_revision}},
                    ops);
  spdlog::info("cluster: removed topic '{}' from cluster '{}'", name, config_.cluster_id);
}

void ClusterService::sync_local_topics() {
  std::map<std::string, int32_t> local;  // name -> partitions here
  for (const auto& t : host_.local_topics()) local[t.name] = t.partitions;
  auto here = [&](const std::string& n) { return local.count(n) != 0; };
  for (const auto& name : topics_removed_) {
    if (state_.topics.count(name) == 0 && here(name)) {
      spdlog::info("cluster: topic '{}' was deleted in cluster '{}'; deleting it here", name,
                   config_.cluster_id);
      host_.delete_local_topic(name);
    }
  }
  topics_removed_.clear();
  for (const auto& [name, entry] : state_.topics) {
    const auto count = static_cast<int32_t>(entry.record.assignment.size());
    if (here(name)) {
      auto synced = settings_synced_.find(name);
      if (synced == settings_synced_.end() || synced->second != entry.mod_revision) {
        // The record changed (or was never checked here): its settings
        // win over the ones this broker holds (a change made while it was
        // away, or through another broker).
        if (!entry.record.internal && host_.local_settings(name) != entry.record.settings_toml) {
          spdlog::info("cluster: applying topic '{}''s settings from cluster '{}'", name, config_.cluster_id);
          try {
            host_.alter_local_topic(name, entry.record.settings_toml);
          } catch (const Error& e) {
            // Not retried until the record changes again: the same
            // settings would be refused the same way (e.g. a topic declared
            // in this broker's file keeps the file's).
            spdlog::error("cluster: topic '{}': this broker cannot take the cluster's settings: {}", name,
                          e.what());
          }
        }
        settings_synced_[name] = entry.mod_revision;
      }
      if (local[name] < count) {
        // Made here with fewer partitions (a client's request raced the
        // cluster's): the cluster's count wins.
        spdlog::warn(
            "cluster: topic '{}' has {} partitions here but {} in cluster '{}'; adding the missing ones",
            name, local[name], count, config_.cluster_id);
        host_.grow_local_topic(name, count);
      }
      continue;
    }
    spdlog::info("cluster: creating topic '{}' ({} partitions) as published in cluster '{}'", name,
                 entry.record.assignment.size(), config_.cluster_id);
    host_.create_local_topic(name, entry.record);
  }
}

void ClusterService::publish_view() { view_.publish(std::make_shared<ClusterState>(state_)); }

void ClusterService::leave_cluster(const std::string& why) {
  spdlog::warn("cluster '{}': broker {} left the cluster: {}; it leads nothing until it joins again",
               config_.cluster_id, config_.broker_id, why);
  joined_ = false;
  controller_epoch_ = 0;
  // Readers must stop treating this broker as live at once, not when the
  // coordinator answers again.
  state_.brokers.erase(config_.broker_id);
  if (state_.controller_id == config_.broker_id) state_.controller_id = -1;
  publish_view();
}

void ClusterService::wait_for_work(int64_t timeout_ms) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] {
    return stop_ || !events_.empty() || !topic_ops_.empty() || listeners_changed_ ||
           !isr_proposals_.empty() || !grow_ops_.empty();
  });
}

}  // namespace keel
