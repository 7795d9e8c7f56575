// Consumer-group offsets and group metadata, kept in memory and persisted as
// records of the internal compacted topic __consumer_offsets (see
// offset_records.hpp for the records, Broker for the topic).
//
// Two ways to commit, chosen by the broker's offsets_flush:
//  - "commit": commit_async() appends the commit's batch to the internal
//    partition at once and returns; the writer's flusher syncs it (one
//    fdatasync covers every commit appended meanwhile: group commit) and only
//    then is the commit applied to the in-memory state (visible to fetch)
//    and its callback run. A failed sync fails the callback and the commit
//    is never applied, as Kafka's pending offset commits are dropped when
//    their append fails. An answered OffsetCommit survives a crash.
//  - "interval": commit()/stage() update the in-memory state (visible to
//    fetch at once) and mark their keys dirty; flush() writes every dirty key
//    as one record batch per internal partition and returns once durable.
//    The broker flushes every offsets_flush_interval_ms and at a clean
//    shutdown; a crash loses at most that interval of commits, and consumers
//    then re-read those records (at-least-once still holds).
// Group metadata and topic removals always go the dirty-key way.
//
// Threads: any thread may call any method. state_mu_ guards the maps and is
// never held during I/O; flush_mu_ serialises flushes so that batches reach
// the log in the order their commits were made; order_mu_[p] keeps the
// appends of internal partition p in the order their acknowledgements (and
// so their applications) come back. commit_async's callbacks run on the
// writer's thread (the broker's flusher).
#pragma once

#include <keel/plugin.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.hpp"
#include "groups/offset_records.hpp"

namespace keel {

struct CommittedOffset {
  int64_t offset = -1;
  std::string metadata;
  int64_t commit_time_ms = 0;
};

struct OffsetCommit {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = -1;
  std::string metadata;
};

class GroupOffsetStore {
 public:
  using Done = std::function<void(keel_status status, const std::string& message)>;
  // Appends the batches (RecordBatch v2 bytes, in order) to partition
  // `partition` of the internal topic before it returns, and calls `done`
  // once they are durable (any thread, possibly before it returns), with an
  // error if the sync failed. Calls for one partition made in some order are
  // answered in that order. Throws keel::Error when the append fails, and
  // then never calls `done`.
  using Writer = std::function<void(int32_t partition, const std::vector<std::string>& batches, Done done)>;

  // `clock` stamps the records (compaction's lag and tombstone retention
  // are judged by record time).
  GroupOffsetStore(int32_t partitions, Writer writer, bool flush_on_commit, const Clock& clock);
  GroupOffsetStore(const GroupOffsetStore&) = delete;
  GroupOffsetStore& operator=(const GroupOffsetStore&) = delete;

  // Start-up: applies one record of the internal topic, in log order.
  // Records of unknown kinds are skipped; malformed ones throw CORRUPT.
  void apply(const std::string& key, const std::optional<std::string>& value);

  // Internal partition that holds a group's records.
  int32_t partition_for(const std::string& group) const;

  // Throws keel::Error if a flush it needs fails; the commit then stays
  // in memory and dirty, and a later flush retries it. stage() then, with
  // flush_on_commit, make_durable().
  void commit(const std::string& group, const std::vector<OffsetCommit>& offsets, int64_t now_ms);
  // The two halves of commit: stage() updates the in-memory state (visible
  // to fetch at once, no I/O) and returns the commit's sequence number;
  // make_durable(seq) returns once every commit up to seq is written and
  // synced (a no-op when a flush got there first). Throws like flush().
  uint64_t stage(const std::string& group, const std::vector<OffsetCommit>& offsets, int64_t now_ms);
  void make_durable(uint64_t seq) {
    if (seq > 0) flush_through(seq);
  }
  // The "commit" mode's commit: appends the commit's records now and
  // returns without waiting for the sync; `done` runs once, from the
  // writer's thread, after the sync, and the offsets are visible to fetch
  // from just before it runs (never, if the sync failed). Throws keel::Error
  // if the append fails (nothing stored, `done` not called).
  void commit_async(const std::string& group, const std::vector<OffsetCommit>& offsets, int64_t now_ms,
                    const Done& done);
  void commit(const std::string& group, const std::string& topic, int32_t partition, int64_t offset,
              const std::string& metadata, int64_t now_ms) {
    commit(group, {OffsetCommit{topic, partition, offset, metadata}}, now_ms);
  }
  std::optional<CommittedOffset> fetch(const std::string& group, const std::string& topic,
                                       int32_t partition) const;
  // Groups with a committed offset or stored metadata, sorted.
  std::vector<std::string> groups() const;
  // (topic, partition) -> offset, for every partition the group committed.
  std::map<std::pair<std::string, int32_t>, CommittedOffset> group_offsets(const std::string& group) const;
  // "" removes it.
  void set_group_metadata(const std::string& group, const std::string& metadata, int64_t now_ms);
  std::optional<std::string> group_metadata(const std::string& group) const;
  // Drops every group's offsets of a deleted topic (tombstones).
  void remove_topic(const std::string& topic);
  // Drops a group's offsets and metadata (tombstones), durable before it
  // returns; false (nothing written) if the group has neither. Throws like
  // flush().
  bool remove_group(const std::string& group);
  // Drops the group's offsets of these partitions of `topic` (those it has;
  // tombstones), durable before it returns; false if the group has no
  // offsets and no metadata. Throws like flush().
  bool remove_offsets(const std::string& group, const std::string& topic,
                      const std::vector<int32_t>& partitions);

  // Writes every dirty key; returns once durable. Throws keel::Error, and
  // the keys stay dirty.
  void flush();
  bool dirty() const;
  bool flush_on_commit() const { return flush_on_commit_; }

 private:
  using Key = std::pair<std::string, int32_t>;  // (topic, partition)
  struct Group {
    std::map<Key, CommittedOffset> offsets;
    std::string metadata;  // "" = none
  };
  struct Dirty {
    int32_t partition = 0;
    std::optional<std::string> value;  // nullopt: tombstone
  };

  // Caller holds state_mu_ exclusively; returns the commit's sequence.
  uint64_t mark_dirty(const std::string& group, std::string key, std::optional<std::string> value);
  // Builds the batches holding `records` (key, value), at most
  // kMaxBatchBytes each.
  std::vector<std::string> build_batches(
      const std::vector<std::pair<std::string, std::optional<std::string>>>& records) const;
  // Writes each partition's batches and waits for their syncs; throws
  // keel::Error.
  void write_durably(const std::map<int32_t, std::vector<std::string>>& batches);
  // Flushes unless everything up to `seq` is durable already.
  void flush_through(uint64_t seq);
  void flush_locked();                        // caller holds flush_mu_
  void drop_empty(const std::string& group);  // caller holds state_mu_
  // An async commit is over (applied, failed or never appended); caller
  // holds state_mu_.
  void settle_pending(const std::string& group, const std::vector<OffsetCommit>& offsets);

  const int32_t partitions_;
  Writer writer_;
  const bool flush_on_commit_;
  const Clock& clock_;

  mutable std::shared_mutex state_mu_;
  std::map<std::string, Group> groups_;
  std::map<std::string, Dirty> dirty_;  // record key -> newest value
  uint64_t seq_ = 0;                    // commits made
  // A commit_async appended before its topic was deleted must not put the
  // deleted topic's offset back in memory when its sync completes (its
  // record is already followed by the removal's tombstone in the log).
  // removed_at_[topic] = removals_ at the deletion; a commit remembers
  // removals_ when appended and skips topics removed since. Cleared when no
  // async commit is pending, so it holds only recent deletions.
  // The deletion also writes tombstones for the keys of pending commits,
  // which are not in memory yet: pending_keys_[topic][(group, partition)]
  // counts the pending commits of each key.
  uint64_t removals_ = 0;
  std::map<std::string, uint64_t> removed_at_;
  std::map<std::string, std::map<std::pair<std::string, int32_t>, int>> pending_keys_;
  size_t pending_async_ = 0;

  std::unique_ptr<std::mutex[]> order_mu_;  // one per internal partition

  std::mutex flush_mu_;
  uint64_t durable_seq_ = 0;  // commits up to here are durable (flush_mu_)
};

}  // namespace keel
