#include "replication/replica_fetcher.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <keel/thread_name.hpp>

#include "common/clock.hpp"
#include "common/error.hpp"

namespace keel {
namespace {

// How soon a follower asks again a broker that does not lead the partition
// (yet), or does not know its epoch (yet): see apply().
constexpr int64_t kLeaderBehindRetryMs = 20;

}  // namespace

ReplicaFetcher::ReplicaFetcher(int32_t leader, const ReplicationConfig& config, ClusterView& view,
                               ReplicaHost& host)
    : leader_(leader), config_(config), view_(view), host_(host) {
  thread_ = std::thread([this] {
    name_this_thread("repl-fetch-" + std::to_string(leader_));
    run();
  });
}

ReplicaFetcher::~ReplicaFetcher() { stop(); }

void ReplicaFetcher::stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    socket_.shutdown();
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ReplicaFetcher::follow(const std::string& topic, int32_t partition, int32_t leader_epoch) {
  std::lock_guard lock(mu_);
  Followed& f = partitions_[Key{topic, partition}];
  if (f.leader_epoch != leader_epoch) {
    f.leader_epoch = leader_epoch;
    f.retry_at_ms = 0;  // a new epoch: the error that held it back may be gone
  }
  cv_.notify_all();
}

void ReplicaFetcher::unfollow(const std::string& topic, int32_t partition) {
  std::lock_guard lock(mu_);
  partitions_.erase(Key{topic, partition});
}

bool ReplicaFetcher::empty() const {
  std::lock_guard lock(mu_);
  return partitions_.empty();
}

void ReplicaFetcher::pause(int64_t ms) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, std::chrono::milliseconds(ms), [&] { return stop_; });
}

void ReplicaFetcher::connect() {
  for (const LiveBroker& b : view_.brokers("replication")) {
    if (b.id != leader_) continue;
    FrameSocket s = FrameSocket::connect(b.endpoint.host, b.endpoint.port, 3000);
    std::lock_guard lock(mu_);
    if (stop_) fail(KEEL_ERR_UNAVAILABLE, "stopping");
    socket_ = std::move(s);
    return;
  }
  fail(KEEL_ERR_UNAVAILABLE, "broker " + std::to_string(leader_) +
                                 " is not live or advertises no replication listener in the cluster state");
}

void ReplicaFetcher::run() {
  while (true) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stop_ || !partitions_.empty(); });
      if (stop_) return;
    }
    try {
      fetch_once();
      if (const int64_t failed = outage_.recovered(); failed > 0) {
        spdlog::info("replication: fetching from leader broker {} again after {} failed attempt(s)", leader_,
                     failed);
      }
    } catch (const Error& e) {
      if (outage_.failed(monotonic_ms())) {
        spdlog::warn("replication: fetch from leader broker {} failed: {} (attempt {}; retrying every {} ms)",
                     leader_, e.what(), outage_.failures(), config_.retry_backoff_ms);
      } else {
        spdlog::debug("replication: fetch from leader broker {} failed: {} (attempt {})", leader_, e.what(),
                      outage_.failures());
      }
      {
        std::lock_guard lock(mu_);
        socket_.close();
      }
      pause(config_.retry_backoff_ms);
    }
  }
}

void ReplicaFetcher::fetch_once() {
  ReplicaFetchRequest req;
  req.broker_id = config_.self;
  req.max_wait_ms = config_.fetch_max_wait_ms;
  std::map<Key, int32_t> asked;  // the epoch each partition was asked at
  int64_t next_retry = INT64_MAX;
  const int64_t now = monotonic_ms();
  {
    std::lock_guard lock(mu_);
    for (const auto& [key, f] : partitions_) {
      if (f.retry_at_ms > now) {
        next_retry = std::min(next_retry, f.retry_at_ms);
        continue;
      }
      auto log = host_.replica_log(key.first, key.second);
      if (!log) continue;  // not created here yet: the cluster thread is on it
      // After a failed sync its log end may cover records that never
      // reached the disk (PartitionLog::remember_failed_sync): reporting it
      // would let the leader acknowledge them. Silent, the follower leaves
      // the ISR after replica_lag_time_max_ms; a restart checks its log.
      if (log->sync_failed()) continue;
      ReplicaFetchPartition p;
      p.topic = key.first;
      p.partition = key.second;
      p.current_leader_epoch = f.leader_epoch;
      p.fetch_offset = log->log_end_offset();
      p.last_fetched_epoch = log->leader_epochs().latest_epoch();
      p.max_bytes = config_.fetch_max_bytes;
      p.high_watermark = log->high_watermark();
      req.partitions.push_back(std::move(p));
      asked[key] = f.leader_epoch;
    }
  }
  if (req.partitions.empty()) {
    pause(next_retry == INT64_MAX ? config_.retry_backoff_ms : std::max<int64_t>(1, next_retry - now));
    return;
  }
  if (!socket_.is_open()) connect();
  socket_.send_frame(encode(req), 10000);
  const ReplicaFetchResponse resp =
      decode_fetch_response(socket_.recv_frame(config_.fetch_max_wait_ms + 10000));
  if (!resp.error.empty())
    fail(KEEL_ERR_UNAVAILABLE, "broker " + std::to_string(leader_) + ": " + resp.error);
  for (const auto& a : resp.partitions) {
    auto it = asked.find(Key{a.topic, a.partition});
    if (it == asked.end()) continue;
    {
      // Followed elsewhere or at a newer epoch since the request went out
      // (the control thread moved it): this answer is stale.
      std::lock_guard lock(mu_);
      auto f = partitions_.find(it->first);
      if (f == partitions_.end() || f->second.leader_epoch != it->second) continue;
    }
    try {
      apply(a, it->second);
    } catch (const Error& e) {
      spdlog::error("replication: {}-{} from leader broker {}: {}; retrying in {} ms", a.topic, a.partition,
                    leader_, e.what(), config_.retry_backoff_ms);
      std::lock_guard lock(mu_);
      if (auto f = partitions_.find(Key{a.topic, a.partition}); f != partitions_.end()) {
        f->second.retry_at_ms = monotonic_ms() + config_.retry_backoff_ms;
      }
    }
  }
}

void ReplicaFetcher::apply(const ReplicaFetchAnswer& a, int32_t epoch_asked) {
  auto log = host_.replica_log(a.topic, a.partition);
  if (!log) return;
  if (a.error == ReplicaError::kOffsetOutOfRange && a.log_start_offset > log->log_end_offset()) {
    // Everything this log holds is below what the leader keeps (retention
    // or DeleteRecords ran there while this broker was away, or its disk
    // was replaced): nothing to copy from here on. Start over at the
    // leader's log start, as Kafka's follower truncates fully; the next
    // fetch asks from there. Only this thread writes the replica log, so
    // its end is still the offset the request asked for.
    log->reset_to(a.log_start_offset, "its log ends at " + std::to_string(log->log_end_offset()) +
                                          ", below leader broker " + std::to_string(leader_) +
                                          "'s log start " + std::to_string(a.log_start_offset));
    return;
  }
  if (a.error != ReplicaError::kNone) {
    // Not fatal: the leader's or this broker's view of the partition is
    // behind; the cluster state (watched) brings the next epoch or leader.
    spdlog::debug("replication: {}-{} at epoch {}: leader broker {} answered {}: {}", a.topic, a.partition,
                  epoch_asked, leader_, replica_error_name(a.error), a.message);
    // A broker just elected often hears of its election a few ms after its
    // followers: "not leading (yet)" or "epoch unknown (yet)" is then worth
    // asking again soon, since its high watermark, and every acks=all
    // producer waiting on it, moves only once its followers fetch. Other
    // errors wait the whole backoff.
    const bool leader_behind =
        a.error == ReplicaError::kNotLeader || a.error == ReplicaError::kUnknownLeaderEpoch;
    const int64_t backoff = leader_behind ? std::min<int64_t>(config_.retry_backoff_ms, kLeaderBehindRetryMs)
                                          : config_.retry_backoff_ms;
    std::lock_guard lock(mu_);
    if (auto f = partitions_.find(Key{a.topic, a.partition}); f != partitions_.end()) {
      f->second.retry_at_ms = monotonic_ms() + backoff;
    }
    return;
  }
  if (a.diverging_epoch >= 0) {
    // KIP-320: cut where the two logs agree, never below what both hold.
    const int64_t end = log->log_end_offset();
    const EpochEndOffset mine = log->leader_epochs().end_offset_for(a.diverging_epoch, end);
    int64_t cut = std::min(a.diverging_end_offset, end);
    if (mine.end_offset >= 0) cut = std::min(cut, mine.end_offset);
    cut = std::max(cut, log->log_start_offset());
    if (cut >= end) {
      // Nothing here to cut, yet the leader sees a divergence: refetching
      // at once would spin; the caller backs off and asks again.
      fail(KEEL_ERR_CORRUPT, "the leader reports a divergence after epoch " +
                                 std::to_string(a.diverging_epoch) + " (its end " +
                                 std::to_string(a.diverging_end_offset) + ") that this log (end " +
                                 std::to_string(end) + ") cannot resolve by truncation");
    }
    log->truncate_to(cut, "its log diverges from leader broker " + std::to_string(leader_) +
                              "'s after epoch " + std::to_string(a.diverging_epoch));
    return;
  }
  if (!a.records.empty()) {
    const AppendResult r =
        log->append_replica(reinterpret_cast<const uint8_t*>(a.records.data()), a.records.size());
    host_.replica_appended(log, r.last_offset + 1);
  }
  log->set_high_watermark(std::min(a.high_watermark, log->log_end_offset()));
}

}  // namespace keel
