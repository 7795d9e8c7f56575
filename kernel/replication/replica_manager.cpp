#include "replication/replica_manager.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <keel/thread_name.hpp>

#include "common/contains.hpp"
#include "common/error.hpp"

namespace keel {
namespace {

constexpr int64_t kTickMs = 250;
// A proposal the store did not take is made again after this.
constexpr int64_t kProposalRetryMs = 1000;

std::string name_of(const std::string& topic, int32_t partition) {
  return topic + "-" + std::to_string(partition);
}

// The stored bytes of a read, copied out of the segment file.
std::string read_bytes(const ReadResult& r) {
  std::string out(static_cast<size_t>(r.length), '\0');
  size_t got = 0;
  while (got < out.size()) {
    const ssize_t n = ::pread(r.segment->fd(), out.data() + got, out.size() - got,
                              static_cast<off_t>(r.position + static_cast<int64_t>(got)));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      fail(KEEL_ERR_IO, "reading " + std::to_string(out.size()) + " bytes at " + std::to_string(r.position) +
                            " of '" + r.segment->path() + "' for a follower: " +
                            (n == 0 ? std::string("the file is shorter") : std::strerror(errno)));
    }
    got += static_cast<size_t>(n);
  }
  return out;
}

}  // namespace

ReplicaManager::ReplicaManager(ReplicationConfig config, ClusterView& view, ReplicaHost& host,
                               const Clock& clock)
    : config_(std::move(config)),
      view_(view),
      host_(host),
      clock_(clock),
      server_([this](const ReplicaFetchRequest& r, ReplicaServer::Outlet& out) {
        return handle_fetch(r, out);
      }) {}

ReplicaManager::~ReplicaManager() { stop(); }

void ReplicaManager::start() {
  const int32_t port = server_.start(config_.listen_host, config_.listen_port);
  const int32_t advertised = config_.advertised_port > 0 ? config_.advertised_port : port;
  view_.advertise("replication", config_.listen_host, advertised);
  if (advertised == port) {
    spdlog::info("replication: listening for followers on {}:{}", config_.listen_host, port);
  } else {
    spdlog::info("replication: listening for followers on {}:{}, advertised as port {}", config_.listen_host,
                 port, advertised);
  }
  thread_ = std::thread([this] {
    name_this_thread("repl-control");
    control_loop();
  });
}

void ReplicaManager::stop() {
  {
    std::lock_guard lock(control_mu_);
    if (stop_) return;
    stop_ = true;
  }
  stopping_ = true;
  control_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  fetchers_.clear();  // each stops and joins its thread
  server_.stop();
  std::vector<Completion> done;
  {
    std::lock_guard lock(mu_);
    for (auto& [key, lp] : leading_) {
      for (auto& w : lp->take_all()) {
        done.push_back({std::move(w), KEEL_ERR_UNAVAILABLE,
                        name_of(key.first, key.second) + ": the broker is shutting down before the records "
                                                         "were replicated; retry on the new leader"});
      }
    }
    leading_.clear();
  }
  complete(done);
}

void ReplicaManager::view_changed() {
  std::lock_guard lock(control_mu_);
  changed_ = true;
  control_cv_.notify_all();
}

void ReplicaManager::control_loop() {
  while (true) {
    {
      std::unique_lock lock(control_mu_);
      control_cv_.wait_for(lock, std::chrono::milliseconds(kTickMs), [&] { return stop_ || changed_; });
      if (stop_) return;
      changed_ = false;
    }
    try {
      reconcile();
      tick();
    } catch (const std::exception& e) {
      spdlog::error("replication: {}", e.what());
    }
  }
}

void ReplicaManager::complete(std::vector<Completion>& done) {
  for (auto& c : done) c.waiter.done(c.status, c.message);
  done.clear();
}

void ReplicaManager::reconcile() {
  const auto st = view_.snapshot();
  const int32_t self = config_.self;
  const bool joined = st->is_live(self);
  struct Lead {
    int32_t epoch;
    std::vector<int32_t> replicas;
    std::vector<int32_t> isr;
  };
  std::map<Key, Lead> lead;
  std::map<Key, std::pair<int32_t, int32_t>> follow;  // -> leader, epoch
  for (const auto& [id, entry] : st->partitions) {
    const auto* replicas = st->replicas(id);
    if (!joined || replicas == nullptr || !contains(*replicas, self)) continue;
    const int32_t leader = entry.record.leader;
    if (leader < 0 || !st->is_live(leader)) continue;
    if (leader == self) {
      lead[id] = Lead{entry.record.leader_epoch, *replicas, entry.record.isr};
    } else {
      follow[id] = {leader, entry.record.leader_epoch};
    }
  }

  std::vector<Completion> done;
  std::vector<std::pair<Key, bool>> changes;
  {
    std::lock_guard lock(mu_);
    for (auto it = leading_.begin(); it != leading_.end();) {
      auto want = lead.find(it->first);
      if (want != lead.end() && want->second.epoch == it->second->leader_epoch()) {
        ++it;
        continue;
      }
      const std::string why =
          want == lead.end() ? "this broker no longer leads it" : "a new leader epoch began";
      for (auto& w : it->second->take_all()) {
        done.push_back({std::move(w), KEEL_ERR_NOT_LEADER,
                        name_of(it->first.first, it->first.second) + ": " + why +
                            " before the records were replicated; refresh metadata and retry"});
      }
      if (want == lead.end()) changes.emplace_back(it->first, false);
      it = leading_.erase(it);
    }
    const int64_t now = clock_.now_ms();
    for (auto& [key, want] : lead) {
      auto& lp = leading_[key];
      if (!lp) {
        lp = std::make_unique<LeaderPartition>(self, want.epoch, now);
        changes.emplace_back(key, true);
        spdlog::info("replication: leading {} at epoch {} (isr [{}])", name_of(key.first, key.second),
                     want.epoch, fmt::join(want.isr, ","));
      }
      lp->set_committed(want.replicas, want.isr, host_.min_insync_replicas(key.first));
      auto log = host_.replica_log(key.first, key.second);
      if (!lp->enough_replicas()) {
        for (auto& w : lp->take_all()) {
          done.push_back({std::move(w), KEEL_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND,
                          name_of(key.first, key.second) + ": the ISR shrank to " +
                              std::to_string(lp->effective_isr().size()) +
                              " replica(s), below min_insync_replicas " + std::to_string(lp->min_isr()) +
                              ", after the records were written; they may be read later, or not: retry"});
        }
      }
      if (log) advance_locked(*lp, *log, &done);
    }
  }
  complete(done);
  for (const auto& [key, leads] : changes) host_.leadership_changed(key.first, key.second, leads);

  // Following: one fetcher per leader broker.
  for (auto it = following_.begin(); it != following_.end();) {
    auto want = follow.find(it->first);
    if (want == follow.end() || want->second.first != it->second) {
      if (auto f = fetchers_.find(it->second); f != fetchers_.end())
        f->second->unfollow(it->first.first, it->first.second);
      it = following_.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto& [key, who] : follow) {
    auto& f = fetchers_[who.first];
    if (!f) f = std::make_unique<ReplicaFetcher>(who.first, config_, view_, host_);
    f->follow(key.first, key.second, who.second);
    following_[key] = who.first;
  }
  for (auto it = fetchers_.begin(); it != fetchers_.end();) {
    it = it->second->empty() ? fetchers_.erase(it) : std::next(it);
  }
  std::lock_guard lock(mu_);
  stats_.followed_partitions = static_cast<int64_t>(following_.size());
}

void ReplicaManager::tick() {
  const int64_t now = clock_.now_ms();
  std::vector<Completion> done;
  struct Proposal {
    Key key;
    int32_t epoch;
    std::vector<int32_t> remove;
  };
  std::vector<Proposal> proposals;
  {
    std::lock_guard lock(mu_);
    int64_t max_lag = 0;
    for (auto& [key, lp] : leading_) {
      auto behind = lp->laggards(now, config_.replica_lag_time_max_ms, kProposalRetryMs);
      if (!behind.empty()) {
        proposals.push_back({key, lp->leader_epoch(), std::move(behind)});
        ++stats_.isr_shrinks;
      }
      for (auto& w : lp->take_expired(now)) {
        done.push_back({std::move(w), KEEL_ERR_TIMED_OUT,
                        name_of(key.first, key.second) + ": not replicated to min_insync_replicas (" +
                            std::to_string(lp->min_isr()) + ") within " +
                            std::to_string(config_.produce_timeout_ms) +
                            " ms; the records may be read later, or not: retry"});
      }
      if (auto log = host_.replica_log(key.first, key.second)) {
        for (int32_t r : lp->replicas()) {
          if (r == config_.self) continue;
          const int64_t end = lp->follower_end(r);
          max_lag = std::max(max_lag, log->log_end_offset() - std::max<int64_t>(end, 0));
        }
      }
    }
    stats_.max_follower_lag = max_lag;
  }
  complete(done);
  for (const auto& p : proposals) {
    spdlog::warn(
        "replication: {}: removing broker(s) {} from the ISR: not caught up for {} ms "
        "(replica_lag_time_max_ms)",
        name_of(p.key.first, p.key.second), fmt::join(p.remove, ","), config_.replica_lag_time_max_ms);
    host_.propose_isr(p.key.first, p.key.second, p.epoch, {}, p.remove);
  }
}

void ReplicaManager::advance_locked(LeaderPartition& lp, PartitionLog& log, std::vector<Completion>* out) {
  const auto hw = lp.allowed_high_watermark(log.log_end_offset());
  if (hw && *hw > log.high_watermark()) log.set_high_watermark(*hw);
  for (auto& w : lp.take_reached(log.high_watermark())) out->push_back({std::move(w), KEEL_OK, ""});
}

void ReplicaManager::check_enough_replicas(const std::string& topic, int32_t partition) {
  std::lock_guard lock(mu_);
  auto it = leading_.find(Key{topic, partition});
  if (it == leading_.end()) {
    fail(KEEL_ERR_NOT_LEADER,
         name_of(topic, partition) +
             ": this broker is becoming its leader and cannot take acks=all writes yet; retry");
  }
  const LeaderPartition& lp = *it->second;
  if (!lp.enough_replicas()) {
    fail(KEEL_ERR_NOT_ENOUGH_REPLICAS,
         name_of(topic, partition) + ": " + std::to_string(lp.effective_isr().size()) +
             " in-sync replica(s), fewer than the topic's min_insync_replicas " +
             std::to_string(lp.min_isr()) +
             "; nothing was written. Bring the other replicas back, or produce with acks=1");
  }
}

void ReplicaManager::leader_appended(const std::shared_ptr<PartitionLog>& log) {
  std::vector<Completion> done;
  {
    std::lock_guard lock(mu_);
    auto it = leading_.find(Key{log->topic(), log->partition()});
    if (it != leading_.end()) advance_locked(*it->second, *log, &done);
  }
  complete(done);
}

void ReplicaManager::wait_for_replicas(const std::shared_ptr<PartitionLog>& log, int64_t until, Done done) {
  keel_status status = KEEL_OK;
  std::string message;
  {
    std::lock_guard lock(mu_);
    auto it = leading_.find(Key{log->topic(), log->partition()});
    if (it == leading_.end()) {
      status = KEEL_ERR_NOT_LEADER;
      message =
          log->name() + ": leadership moved before the records were replicated; refresh metadata and retry";
    } else if (log->high_watermark() < until) {
      if (!it->second->enough_replicas()) {
        status = KEEL_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND;
        message =
            log->name() + ": the ISR shrank below min_insync_replicas after the records were written; retry";
      } else {
        it->second->add_waiter(
            ReplicaWaiter{until, clock_.now_ms() + config_.produce_timeout_ms, std::move(done)});
        return;
      }
    }
  }
  done(status, message);
}

// A follower fetch that found nothing to send: it waits for data past a
// fetch offset (a log-end watch per partition), for a high watermark newer
// than the follower's (looked at every hw_news_interval_ms), or for the end
// of its max_wait_ms. Whoever claims it first answers it (ReplicaServer).
class ReplicaManager::Parked final : public ReplicaServer::ParkedFetch {
 public:
  // An answer right after an append covers every partition of the fetch
  // on the appending thread (a producer's event loop): past this many, the
  // connection's thread answers instead.
  static constexpr size_t kMaxPartitionsOnAppend = 8;

  Parked(ReplicaManager& m, const ReplicaFetchRequest& req, ReplicaServer::Outlet& out)
      : m_(m),
        req_(req),
        out_(out),
        deadline_(std::chrono::steady_clock::now() +
                  std::chrono::milliseconds(std::min<int64_t>(req.max_wait_ms, 5000))) {}

  ~Parked() override {
    // unwatch() waits for a callback in progress: nothing uses out_ after.
    for (auto& [log, w] : watches_) log->unwatch(w);
  }

  // Registers the watches; one may fire at once (data came meanwhile).
  void arm() {
    for (const auto& p : req_.partitions) {
      auto log = m_.host_.replica_log(p.topic, p.partition);
      if (!log) continue;
      known_hw_.emplace_back(log, p.high_watermark);
      watches_.emplace_back(
          log, log->watch(
                   p.fetch_offset, [this](WatchFired why) { on_data(why); }, PartitionLog::WatchOn::kLogEnd));
    }
  }

  int64_t check_every_ms() const override {
    // Rounded up: a wait of 0 before the deadline would spin.
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(deadline_ - std::chrono::steady_clock::now());
    return std::clamp<int64_t>(left.count(), 0, std::max<int64_t>(1, m_.config_.hw_news_interval_ms));
  }

  bool taken() const override { return claimed_.load(); }

  std::optional<ReplicaFetchResponse> due(bool woken) override {
    const bool over = woken || m_.stopping_ || std::chrono::steady_clock::now() >= deadline_ || hw_moved();
    if (!over || !claim()) return std::nullopt;
    bool has_data = false;
    ReplicaFetchResponse resp = m_.answer(req_, true, &has_data);
    std::lock_guard lock(m_.mu_);
    ++m_.stats_.parked_answered_by_connection;
    return resp;
  }

 private:
  // A watched log's end passed its fetch offset.
  void on_data(WatchFired why) {
    if (claimed_.load()) return;
    if (why != WatchFired::kAppend || req_.partitions.size() > kMaxPartitionsOnAppend) {
      // Possibly under a lock of the caller's (PartitionLog::WatchFired),
      // or too much to do on a producer's thread.
      out_.wake();
      return;
    }
    if (!claim()) return;
    std::string payload;
    try {
      bool has_data = false;
      payload = encode(m_.answer(req_, true, &has_data));
    } catch (const std::exception& e) {
      // Never into the append that called this (its records are stored):
      // the connection's thread answers instead.
      spdlog::warn("replication: answering broker {}'s fetch on append failed ({}); its connection answers",
                   req_.broker_id, e.what());
      claimed_.store(false);
      out_.wake();
      return;
    }
    {
      std::lock_guard lock(m_.mu_);
      ++m_.stats_.parked_answered_on_append;
    }
    out_.answer(std::move(payload));
  }

  bool claim() { return !claimed_.exchange(true); }

  // A high watermark newer than the follower's, which serve() held back
  // (LeaderPartition::tell_high_watermark): it goes out at the next check
  // rather than with a wake-up of its own each time it moves.
  bool hw_moved() const {
    for (const auto& [log, hw] : known_hw_) {
      if (log->high_watermark() > hw) return true;
    }
    return false;
  }

  ReplicaManager& m_;
  const ReplicaFetchRequest req_;
  ReplicaServer::Outlet& out_;
  const std::chrono::steady_clock::time_point deadline_;
  std::atomic<bool> claimed_{false};
  std::vector<std::pair<std::shared_ptr<PartitionLog>, int64_t>> known_hw_;
  std::vector<std::pair<std::shared_ptr<PartitionLog>, std::shared_ptr<PartitionLog::Watch>>> watches_;
};

ReplicaFetchResponse ReplicaManager::answer(const ReplicaFetchRequest& req, bool last_round, bool* has_data) {
  ReplicaFetchResponse resp;
  // One answer stays well below the frame limit however many partitions
  // a follower asks for (Kafka's replica.fetch.response.max.bytes); the
  // partitions left out get their data in the next fetch.
  int64_t budget = config_.fetch_response_max_bytes;
  std::vector<Completion> done;
  for (const auto& p : req.partitions) {
    resp.partitions.push_back(serve(req.broker_id, p, last_round, &budget, has_data, &done));
  }
  complete(done);
  return resp;
}

ReplicaServer::Reply ReplicaManager::handle_fetch(const ReplicaFetchRequest& req,
                                                  ReplicaServer::Outlet& out) {
  ReplicaServer::Reply reply;
  bool has_data = false;
  // Whether this answer goes out whatever it holds.
  const bool last_round = req.max_wait_ms <= 0 || stopping_;
  reply.now = answer(req, last_round, &has_data);
  if (has_data || last_round) return reply;
  reply.now.reset();
  auto parked = std::make_unique<Parked>(*this, req, out);
  parked->arm();
  reply.parked = std::move(parked);
  return reply;
}

ReplicaFetchAnswer ReplicaManager::serve(int32_t follower, const ReplicaFetchPartition& p, bool last_round,
                                         int64_t* budget, bool* has_data,
                                         std::vector<Completion>* completions) {
  ReplicaFetchAnswer a;
  a.topic = p.topic;
  a.partition = p.partition;
  auto refuse = [&](ReplicaError e, std::string why) {
    a.error = e;
    a.message = name_of(p.topic, p.partition) + ": " + std::move(why);
    return a;
  };
  auto log = host_.replica_log(p.topic, p.partition);
  if (!log) return refuse(ReplicaError::kNotLeader, "no such partition on this broker");
  bool expand = false;
  int64_t expand_hw = 0;  // the high watermark the follower was found to have reached
  int32_t epoch = 0;
  {
    std::lock_guard lock(mu_);
    auto it = leading_.find(Key{p.topic, p.partition});
    if (it == leading_.end()) return refuse(ReplicaError::kNotLeader, "this broker does not lead it");
    LeaderPartition& lp = *it->second;
    epoch = lp.leader_epoch();
    if (p.current_leader_epoch < epoch) {
      return refuse(ReplicaError::kFencedLeaderEpoch, "the follower's leader epoch " +
                                                          std::to_string(p.current_leader_epoch) +
                                                          " is older than " + std::to_string(epoch));
    }
    if (p.current_leader_epoch > epoch) {
      return refuse(ReplicaError::kUnknownLeaderEpoch,
                    "the follower's leader epoch " + std::to_string(p.current_leader_epoch) +
                        " is newer than this leader's " + std::to_string(epoch));
    }
    if (!contains(lp.replicas(), follower)) {
      return refuse(ReplicaError::kNotReplica,
                    "broker " + std::to_string(follower) + " is not one of its replicas");
    }
    a.log_start_offset = log->log_start_offset();
    a.log_end_offset = log->log_end_offset();
    const auto out_of_range = [&] {
      return refuse(ReplicaError::kOffsetOutOfRange,
                    "fetch offset " + std::to_string(p.fetch_offset) + " is outside the leader's log [" +
                        std::to_string(a.log_start_offset) + ", " + std::to_string(a.log_end_offset) + "]");
    };
    // Before the epoch check: a follower whose whole log lies below this
    // one's start starts over at it (ReplicaFetcher::apply, reset_to)
    // whatever its epochs say, and the epochs it names may be ones this
    // log's retention has already dropped (answered as a divergence that
    // truncation cannot resolve). The answer carries the start and end.
    if (p.fetch_offset < a.log_start_offset) return out_of_range();
    if (p.last_fetched_epoch >= 0) {
      // KIP-320: does the follower's log agree with this one up to its end?
      const EpochEndOffset eo = log->end_offset_for_epoch(p.last_fetched_epoch, epoch);
      if (eo.end_offset < 0 || eo.end_offset < p.fetch_offset || eo.epoch < p.last_fetched_epoch) {
        a.diverging_epoch = eo.end_offset < 0 ? p.last_fetched_epoch : eo.epoch;
        a.diverging_end_offset = eo.end_offset < 0 ? a.log_start_offset : eo.end_offset;
        a.high_watermark = log->high_watermark();
        return a;
      }
    }
    if (p.fetch_offset > a.log_end_offset) return out_of_range();
    const int64_t now = clock_.now_ms();
    lp.record_fetch(follower, p.fetch_offset, a.log_end_offset, now);
    advance_locked(lp, *log, completions);
    int64_t epoch_start = log->log_end_offset();
    for (const auto& e : log->leader_epochs().entries()) {
      if (e.epoch == epoch) epoch_start = e.start_offset;
    }
    expand_hw = log->high_watermark();
    expand = lp.should_expand(follower, expand_hw, epoch_start, now, kProposalRetryMs);
    if (expand) {
      ++stats_.isr_expands;
      // The follower counts for the high watermark from now on.
      advance_locked(lp, *log, completions);
    }
    a.high_watermark = log->high_watermark();
    // News of a newer high watermark answers a fetch by itself only once
    // per hw_news_interval_ms: for a lone acks=all record the high
    // watermark moves right after the followers fetched it, and answering
    // each such move at once cost every record a second fetch round trip
    // per follower (docs/performance.md, "What RF 3 costs against RF 1").
    // Delayed news goes with the next data or within the interval
    // (Parked::hw_moved).
    if (a.high_watermark > p.high_watermark &&
        lp.tell_high_watermark(follower, last_round || (*budget > 0 && a.log_end_offset > p.fetch_offset),
                               now, config_.hw_news_interval_ms)) {
      *has_data = true;
    }
  }
  if (expand) {
    // With the figures the rule used, so that a log shows why it joined.
    spdlog::info(
        "replication: {}: broker {} caught up (its log end {}, high watermark {}); adding it to the ISR",
        log->name(), follower, p.fetch_offset, expand_hw);
    host_.propose_isr(p.topic, p.partition, epoch, {follower}, {});
  }
  if (*budget <= 0) return a;
  try {
    const ReadResult r = log->read_to_end(p.fetch_offset, std::min<int64_t>(p.max_bytes, *budget));
    if (r.length > 0) {
      a.records = read_bytes(r);
      *budget -= r.length;
      *has_data = true;
    }
  } catch (const Error& e) {
    return refuse(ReplicaError::kStorage, e.what());
  }
  return a;
}

ReplicaManager::Stats ReplicaManager::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

}  // namespace keel
