// A partition: a segmented, append-only log of RecordBatch v2 batches.
//
// Threads: any number of producers may call append(); they serialise on the
// append lock, which covers offset assignment, the write and rolling. Reads
// (read, find_time, watermarks) never take the append lock: they copy the
// segment they need under a short segments lock and read published bytes.
// flush() is called by the flusher thread without the append lock held
// across the fdatasync. A follower's fetcher thread calls append_replica(),
// truncate_to() and reset_to(), which take the append lock like append(); the high
// watermark is set from any thread (set_high_watermark).
#pragma once

#include <keel/plugin.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <keel/record_batch.hpp>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "config/config.hpp"
#include "producers/producer_state.hpp"
#include "replication/leader_epoch_cache.hpp"
#include "storage/segment.hpp"

namespace keel {

struct LogOptions {
  int64_t segment_bytes = 1LL << 30;
  int64_t segment_ms = 7LL * 24 * 3600 * 1000;
  int64_t max_batch_bytes = 1048588;
  std::vector<IndexSpec> indexes;
  // A retention strategy of the topic needs a key on every record
  // (compaction): append() refuses records with a null key.
  bool requires_keys = false;
  // A retention strategy rewrites segments (compaction): offsets missing
  // between segments are expected, not damage.
  bool gaps_expected = false;
  // Idempotent producers silent for this long are forgotten (Kafka's
  // producer.id.expiration.ms, default 1 day).
  int64_t producer_id_expiration_ms = 24LL * 3600 * 1000;
  // Retention keeps deleted segments' files to become the next segments
  // (spare_segment.hpp).
  bool recycle_segments = false;
  // The active segment's file is sized to segment_bytes up front, as a
  // hole (Segment::preallocate).
  bool preallocate = false;
};

// The options a topic may change while it runs (alter_topic); the rest of
// LogOptions is fixed when the log opens.
struct LiveLogOptions {
  int64_t segment_bytes = 0;
  int64_t segment_ms = 0;
  int64_t max_batch_bytes = 0;
  bool requires_keys = false;
  bool gaps_expected = false;
  bool recycle_segments = false;
  bool preallocate = false;
};

struct AppendResult {
  int64_t base_offset = -1;
  int64_t last_offset = -1;
  int32_t batches = 0;
  int64_t records = 0;
  int64_t bytes = 0;
  int64_t log_start_offset = -1;  // after the append (Kafka's produce answer v5+)
  // Idempotence (batches with a producer id): kAppend when appended;
  // kDuplicate when the batch repeats one in the log (nothing was appended,
  // the offsets are the original's); otherwise the sequence checks refused
  // it, nothing was appended, and `refusal` says why.
  ProducerState::Verdict idempotence = ProducerState::Verdict::kAppend;
  std::string refusal;
};

// What a watch waits for: consumers wait for the high watermark, a
// follower's fetch for the log end.
enum class WatchOn { kHighWatermark, kLogEnd };
// Why a watch fires. kAppend: right after an append, on the appending
// thread, with no lock of the log held, so the callback may read the log
// and answer from there (a parked follower fetch does). kOther: anything
// else (the watch's own registration, a high watermark move, truncation,
// reset, close), possibly under a caller's lock: the callback must only
// hand the news on.
enum class WatchFired { kAppend, kOther };

// A read pinned to a segment: the file stays readable while this lives.
struct ReadResult {
  std::shared_ptr<Segment> segment;
  int64_t position = 0;
  int64_t length = 0;
  int64_t records = 0;
};

class PartitionLog {
 public:
  PartitionLog(std::string topic, int32_t partition, std::string dir, LogOptions options, const Clock* clock);
  ~PartitionLog();

  // Loads the segments on disk. `recovery_point` is the offset below which
  // everything was flushed (the checkpoint). After an unclean stop (`clean`
  // false) every segment from the one holding it on is verified batch by
  // batch and a torn tail past it is cut. Damage anywhere else is
  // quarantined: later segments stay, and the log end never falls below
  // `recovery_point`. Offsets missing between segments are reported.
  void open(bool clean, int64_t recovery_point);

  // Checks, assigns offsets to and appends a buffer of one or more batches.
  // A batch with a producer id is first checked against the partition's
  // producer state, under the append lock (see AppendResult::idempotence).
  // Every batch's framing, CRC and contents are checked first
  // (check_produced_batch, batch_validator.hpp). Throws keel::Error
  // (CORRUPT for a wrong CRC or undecodable compression, INVALID_ARGUMENT for
  // a malformed or refused batch or record, IO/NO_SPACE for the disk) naming
  // the topic, partition, batch, record and what to do; nothing is written
  // when it throws.
  // Every batch is stamped with `leader_epoch` (its partitionLeaderEpoch,
  // outside the CRC), and the first batch of an epoch newer than the
  // log's latest starts it in the leader epoch cache. The broker passes its
  // cluster view's epoch; 0 is a single node's (tests, tools). -1 leaves
  // the producer's value and the cache alone.
  AppendResult append(const uint8_t* data, size_t len, int32_t leader_epoch = 0);

  // Where `requested` ends in this log (OffsetForLeaderEpoch, KIP-101/279;
  // see end_offset_for in replication/leader_epoch_cache.hpp). A leader
  // whose `leader_epoch` has not written yet is answered as if it had
  // started that epoch at the log end, as Kafka's leader does on election.
  EpochEndOffset end_offset_for_epoch(int32_t requested, int32_t leader_epoch) const;
  const LeaderEpochCache& leader_epochs() const { return epochs_; }

  // --- high watermark: the offset below which consumers read, separate
  // from the log end. A single node (and every caller that never calls
  // set_replicated) keeps it equal to the log end after every append,
  // truncation and open. set_replicated(true) — the broker in a cluster,
  // before open() or at least before the log is shared — stops that: the
  // high watermark then moves only through set_high_watermark(). Turning it
  // off again puts the high watermark back at the log end.
  void set_replicated(bool on);
  bool replicated() const { return replicated_.load(std::memory_order_acquire); }
  // Never below the log start (retention may delete past a lagging one).
  int64_t high_watermark() const { return std::max(hw_.load(std::memory_order_acquire), log_start_offset()); }
  // Clamped to [log_start_offset(), log_end_offset()]; it may go down (a
  // follower that truncated). Fires the consumer watches it passes. Any
  // thread.
  void set_high_watermark(int64_t hw);
  // Writes `high-watermark` in the partition's directory ("0\n<hw>\n",
  // atomically) when replicated() and the value changed since the last
  // write or read: the broker's maintenance tick, and close(). A failure is
  // logged, not thrown: the next call tries again. Any thread.
  void checkpoint_high_watermark();

  // Consumers: whole batches from the one holding `offset`, up to
  // max_bytes (at least one batch), never a batch at or past the high
  // watermark: an offset in [high watermark, log end] reads nothing (no
  // error); OUT_OF_RANGE outside [log start, log end].
  ReadResult read(int64_t offset, int64_t max_bytes) const;
  // Followers: the same up to the log end.
  ReadResult read_to_end(int64_t offset, int64_t max_bytes) const;

  // --- follower primitives (docs/design/replication.md)
  // Appends batches exactly as the leader stored them: base offsets,
  // partition leader epochs, producer ids, sequences and timestamps are
  // kept. `data` holds whole batches. Each batch's framing and CRC are
  // checked (batch::validate; CORRUPT), not the produce-only rules of
  // check_produced_batch. The first batch must start at log_end_offset()
  // and each next one right after the one before; otherwise
  // INVALID_ARGUMENT naming the partition and the offsets. Nothing is
  // written when it throws. The first batch of an epoch newer than the
  // latest starts it in the leader epoch cache; each batch with a producer
  // id is recorded in the producer state as recovery replays it. Rolls as
  // append() does, fires log-end watches, and moves the high watermark only
  // when not replicated(). Empty `data`: nothing happens (batches == 0).
  AppendResult append_replica(const uint8_t* data, size_t len);
  // Cuts the log so that nothing at or after `offset` stays: segments above
  // it are deleted, the one holding it is cut (file and indexes), the
  // leader epoch cache is cut, the producer state is rebuilt from what
  // stays, and the high watermark and the flushed offset are clamped to the
  // new end; what changed is synced before it returns, so a crash never
  // brings the cut batches back. A batch holding `offset` goes whole (as
  // Kafka cuts), so the log may end below `offset`: it ends exactly there
  // when `offset` is a batch boundary, as every offset a leader answers is.
  // The log never has zero segments: a cut at a segment's base keeps that
  // segment, empty, as the active one. Throws OUT_OF_RANGE for an offset
  // outside [log_start_offset(), log_end_offset()], UNAVAILABLE when
  // closed, IO for the disk. Takes the append lock. Logs one line with
  // `reason`. Returns how many offsets were removed.
  int64_t truncate_to(int64_t offset, const std::string& reason);
  // Empties the log and starts it again at `offset` (Kafka's
  // truncateFullyAndStartAt): for a follower whose log ends below its
  // leader's log start (it was down while retention or DeleteRecords
  // removed the leader's old segments, or its disk was replaced), which can
  // copy nothing the leader still holds. Every segment goes (renamed aside
  // first, as truncate_to deletes whole segments: readers keep their
  // files), one empty active segment starts at `offset`, and the log start,
  // log end, high watermark and flushed offset all become `offset`; the
  // leader epoch cache is cleared, the producer state and its snapshots
  // dropped, and the new start saved in `log-start-offset` as
  // delete_records saves one. The `reset-to` mark is written first: open()
  // finishes a reset that a crash interrupted at any point, so a restart
  // opens an empty log at `offset`, never the old segments.
  // Meant for offset > log_end_offset() (the follower's case); a caller
  // passes any other offset only when it means to throw the whole log away
  // (offsets the log held may then be handed out again). Throws
  // INVALID_ARGUMENT for a negative offset, UNAVAILABLE when closed, IO for
  // the disk. Takes the locks truncate_to takes. Logs one line with
  // `reason`. Returns how many offsets of older data went (the old log end
  // minus the old log start).
  int64_t reset_to(int64_t offset, const std::string& reason);

  // {offset, timestamp} of the first record at or after `timestamp`; {-1,-1}.
  std::pair<int64_t, int64_t> find_time(int64_t timestamp) const;

  int64_t log_start_offset() const { return log_start_.load(std::memory_order_acquire); }
  // Kafka's DeleteRecords: moves the log start offset up to `offset`
  // (-1 = the high watermark) so that the records below it are no longer
  // read. Syncs the log, then writes the new start to `log-start-offset` in
  // the partition's directory (atomically) before it returns: it holds
  // across restarts and crashes. Whole segments below it are deleted by the
  // next retention pass (segments_below_start). Returns the log start
  // afterwards; an offset at or below it changes nothing. Throws
  // OUT_OF_RANGE beyond the high watermark, INVALID_ARGUMENT for another
  // negative offset, IO for the disk. Blocks on the file system.
  int64_t delete_records(int64_t offset);
  // How many of the oldest segments lie wholly below the log start offset
  // (never the active one): what retention deletes whatever its strategies
  // say.
  size_t segments_below_start() const;
  int64_t log_end_offset() const { return log_end_.load(std::memory_order_acquire); }
  // Offsets below this are on stable storage.
  int64_t flushed_offset() const { return flushed_.load(std::memory_order_acquire); }
  int64_t unflushed_messages() const { return log_end_offset() - flushed_offset(); }
  int64_t last_flush_ms() const { return last_flush_ms_.load(); }
  // The last write (or the start-up check for room for one batch) found the
  // disk full; cleared by the next append that succeeds.
  bool out_of_space() const { return no_space_.load(std::memory_order_relaxed); }

  // Forgets idempotent producers silent for producer_id_expiration_ms.
  // Returns how many.
  size_t expire_producers(int64_t now_ms);
  // The idempotent producers the partition knows, and the highest id.
  size_t producer_count() const;
  int64_t max_producer_id() const;

  // fdatasync everything appended so far: the segment the last roll sealed,
  // if it still waits for its sync, then the active one. Returns the new
  // flushed offset.
  // After one failed sync, every later flush() and append fails
  // (KEEL_ERR_IO) until the broker restarts: see sync_failed_.
  int64_t flush();
  // A sync of this log failed since the broker started (see sync_failed_).
  bool sync_failed() const { return sync_failed_.load(std::memory_order_acquire); }
  // A roll does not sync the segment it seals: that fdatasync, a whole
  // segment's dirty pages with flush_mode os, held every append of the
  // partition for up to 0.7 s (docs/performance.md, "The roll's sync off
  // the append path"). It leaves the segment waiting instead, as Kafka
  // does, and the flusher thread syncs it: claim_sealed_sync() is true once
  // per roll for the caller that then queues sync_sealed(), which syncs the
  // waiting segment and moves the flushed offset (and so the recovery
  // checkpoint) up to the active segment's base. The flushed offset never
  // passes a sealed segment before its sync: acks=all and recovery see the
  // same prefix as before. A roll that finds the previous segment still
  // waiting syncs it first, so only the segment before the active one can
  // ever wait (open() relies on it). Any thread / the flusher thread.
  bool claim_sealed_sync() { return sealed_unsynced_.exchange(false); }
  // A failed sync leaves the claim set again. Takes flush_mu_.
  void sync_sealed();
  // A sealed segment still waits for its sync (tests, diagnostics).
  bool segment_awaiting_sync() const;
  // Incremental writeback (Segment::write_back), driven by the flusher:
  // claim_write_back() is true for the one appender that finds at least
  // min_bytes appended since the last write_back() and none queued yet (it
  // then queues one); write_back() starts the kernel's writeback of the
  // active segment. Any thread / the flusher thread.
  bool claim_write_back(int64_t min_bytes);
  void write_back();
  // The active segment's size and written-back mark (tests, diagnostics).
  int64_t active_segment_bytes() const;
  int64_t active_written_back() const;
  // Rolls the active segment when it is older than segment_ms. Returns
  // whether it did (the maintenance pass queues every partition's
  // sync_sealed() claim after it).
  bool roll_if_aged();
  // Deletes the `count` oldest segments (never the active one). With
  // recycle_segments, the newest of them may stay as spares.
  int delete_oldest(size_t count);
  // Called once per retention pass, after delete_oldest (if any): spares
  // beyond what the partition needs until the next pass are deleted.
  void end_retention_pass();
  // Deletes every spare of the partition (a full disk wants their room);
  // returns the bytes freed. Under the append lock.
  int64_t release_spares_locked();
  // What the partition tells its spare maker (storage/spare_maker.hpp).
  // Both are called under the append lock, so they must only queue, and
  // must not throw. Set before open(); without them no spare is prepared
  // (tests call prepare_spare() themselves).
  struct SpareHooks {
    // It would like a spare with its blocks allocated before its next roll:
    // its active segment passed half of segment_bytes, or a roll sealed one
    // that had.
    std::function<void()> wanted;
    // A write found the disk full: every partition's spares should go.
    std::function<void()> no_space;
  };
  void set_spare_hooks(SpareHooks hooks) { spare_hooks_ = std::move(hooks); }
  // Makes a spare whose blocks are allocated (spare_segment::prepare) if
  // the topic recycles and preallocates, the partition holds no spare and
  // the file system has room for it. Returns whether it made one. Stops
  // between chunks once the partition closes or `cancel` is set (the disk
  // ran full, the broker stops). Any thread but one holding the append
  // lock (the spare maker's); takes it only briefly, never while
  // allocating. close() waits for it.
  bool prepare_spare(const std::atomic<bool>* cancel = nullptr);
  // Deletes every spare of the partition; returns the bytes freed (the
  // spare maker, when another partition found the disk full). Nothing
  // before open() has finished.
  int64_t release_spares();
  std::vector<keel_segment_info> segment_infos() const;
  // Damage known so far: quarantined bytes in segments and offsets missing
  // between them (found at open, or by reads since).
  std::vector<DamagedRange> damaged_ranges() const;
  // Every segment but the active one, oldest first.
  std::vector<std::shared_ptr<Segment>> closed_segments() const;
  // Calls `visit` with each stored batch of every segment, oldest first,
  // until it returns false (a snapshot: appends made meanwhile may be missed).
  // Damage is passed to `on_damage`, or without one throws KEEL_ERR_CORRUPT.
  void for_each_batch(const std::function<bool(const uint8_t*, size_t)>& visit,
                      const std::function<void(const DamagedRange&)>& on_damage = {}) const;
  // Puts `fresh` where the contiguous run `old` is in the segment list (a
  // committed rewrite). Throws INTERNAL if `old` is no longer there.
  void replace_segments(const std::vector<std::shared_ptr<Segment>>& old, std::shared_ptr<Segment> fresh);
  // Index strategies and producer expiry: fixed once the log opens. The
  // live options below come from live_options().
  const LogOptions& options() const { return options_; }
  // Applied from the next append, roll check or recovery on; any thread.
  void set_live_options(const LiveLogOptions& o);
  LiveLogOptions live_options() const;

  // Test-only: called with the name of each step of a rewrite's commit (and
  // of reset_to, "reset-*"); a hook that throws RewriteCrash stops the
  // commit dead, as a crash would.
  void set_rewrite_failpoint(std::function<void(const char*)> hook) { failpoint_ = std::move(hook); }
  // Also test-only, for whole-broker crash tests: with KEEL_TEST_CRASH_AT
  // set to a step's name, the process SIGKILLs itself at that step.
  void rewrite_step(const char* step) const;
  // Set when a commit failed after its point of no return: the files are in
  // a state only start-up recovery finishes, so no further rewrite runs.
  void block_rewrites() { rewrites_blocked_.store(true); }
  bool rewrites_blocked() const { return rewrites_blocked_.load(); }
  size_t segment_count() const;
  int64_t size_bytes() const;
  int64_t index_entries() const;
  // Keep: flush, seal and snapshot the producer state, as a clean shutdown
  // does. Discard: the directory is about to be removed whole (topic
  // deletion), so nothing is written. The log is unusable afterwards.
  // Keep throws keel::Error (KEEL_ERR_IO) when the final sync failed, or an
  // earlier one did (sync_failed()), after doing everything else.
  enum class Closing { Keep, Discard };
  void close(Closing how = Closing::Keep);
  const std::string& dir() const { return dir_; }
  const std::string& topic() const { return topic_; }
  int32_t partition() const { return partition_; }
  std::string name() const { return topic_ + "-" + std::to_string(partition_); }

  // Long-poll support: `cb` runs once when the high watermark (kLogEnd: the
  // log end) passes `offset`, or right away if it already has. Without
  // set_replicated the two are the same. Returns a handle for unwatch().
  struct Watch;
  using WatchOn = keel::WatchOn;
  std::shared_ptr<Watch> watch(int64_t offset, std::function<void(WatchFired)> cb,
                               WatchOn on = WatchOn::kHighWatermark);
  void unwatch(const std::shared_ptr<Watch>& w);
  // Fires every watch (used when the partition goes away).
  void fire_all_watches();

 private:
  // `prepare`: preallocate it now when the topic asks (open() does so only
  // after its checks of the recovered active segment). `sync_name` false
  // (a roll): the directory fsync waits for the segment's first sync.
  std::shared_ptr<Segment> new_segment(int64_t base_offset, bool prepare = true, bool sync_name = true);
  // Segment::preallocate for the active segment when the topic asks; a
  // failure only leaves the file growing (logged). Writer only.
  void preallocate_active(Segment& seg);
  std::shared_ptr<Segment> active() const;
  std::shared_ptr<Segment> segment_for(int64_t offset) const;
  void roll_locked();
  // delete_oldest's part under the append lock (it takes it); returns how
  // many segments went.
  size_t drop_oldest_segments(size_t count);
  // The sealed segment waiting for its sync, if it is still part of the log
  // (retention, truncation or a rewrite may have dropped it since). Called
  // with segments_mu_ held.
  std::shared_ptr<Segment> waiting_locked() const;
  // Seals and syncs the waiting segment, if any, moves the flushed offset
  // up to the active segment's base and writes the roll's producer
  // snapshot. Called with flush_mu_ held.
  void sync_waiting();
  void remember_failed_sync(const std::exception& e);
  void refuse_after_failed_sync() const;
  // flushed_ = max(flushed_, to).
  void raise_flushed(int64_t to);
  void find_gaps(const std::vector<std::shared_ptr<Segment>>& segs);
  // open(): `kept`, segment `cut` of `bases`, lost its unsynced tail to an
  // unclean stop; the files of every later segment go (see open()).
  void drop_unsynced_after(const Segment& kept, const std::vector<int64_t>& bases, size_t cut,
                           int64_t recovery_point);
  // Publishes the log start: the first segment's base, or the start set by
  // delete_records when that is higher. Called with segments_mu_ held.
  void publish_start_locked();
  // Reads a "0\n<offset>\n" file of the partition directory (log start,
  // high watermark, truncation mark); nullopt when it is missing, or
  // unreadable (logged, saying that `fallback` is used instead).
  std::optional<int64_t> read_offset_file(const char* file, const char* fallback) const;
  ReadResult read_below(int64_t offset, int64_t max_bytes, int64_t limit) const;
  // The part of append() under append_mu_: rolling, offsets, the write.
  // `as_stored` (append_replica): the batches keep their offsets and
  // epochs, and each starts its epoch in the cache.
  void append_locked(const uint8_t* data, size_t len, const std::vector<batch::Header>& headers,
                     const std::vector<size_t>& starts, int32_t leader_epoch, AppendResult* result,
                     bool as_stored = false);
  // append_locked, noting a full disk on the way out.
  void write_locked(const uint8_t* data, size_t len, const std::vector<batch::Header>& headers,
                    const std::vector<size_t>& starts, int32_t leader_epoch, AppendResult* result,
                    bool as_stored);
  // After a successful write: clears the disk-full state, releases the
  // append lock, fills in the answer's totals and fires the watches.
  void finish_append(std::unique_lock<std::mutex>& lock, size_t batches, size_t len, AppendResult* result);
  // reset_to under its locks, without the watches.
  int64_t reset_locked(int64_t offset, const std::string& reason);
  // open(): finishes a reset_to that a crash interrupted (the `reset-to`
  // mark names `offset`): removes every segment and producer snapshot file
  // and the leader epoch checkpoint, saves the log start and creates the
  // empty segment at `offset`, then removes the mark.
  void finish_interrupted_reset(int64_t offset);
  // Loads the leader epoch checkpoint, rebuilding it from the batch headers
  // when it is missing or damaged, and cuts it to the log's range (open()).
  void load_leader_epochs();
  // The log start moved (retention, delete_records): drops the epochs
  // below it. A checkpoint that cannot be written is logged, not thrown:
  // entries below the start only make old epochs' answers less exact.
  void trim_leader_epochs(int64_t start);
  // [disk-full] Logs the first NO_SPACE error of an episode (one line per
  // partition, not one per produce) and sets out_of_space(); tells the
  // spare maker (SpareHooks::no_space) every time.
  void note_no_space(const std::string& what);
  // How many spares a pass keeps: one per roll since the last pass (at
  // least one), none without recycle_segments.
  size_t spare_target_locked() const;
  // The topic's settings allow prepared spares: they are recycled
  // segments made ahead, into a file preallocated whole.
  bool prepares_spares() const { return recycle_segments_.load() && preallocate_.load(); }
  // Asks for a prepared spare (spare_hooks_.wanted) once per active
  // segment, if `filled` bytes are half of segment_bytes or more.
  void want_spare_locked(int64_t filled);
  // [disk-full] Replaces an active segment opened without indexes by one
  // with them. Throws (NO_SPACE) and changes nothing if that fails.
  void index_active_locked();
  // `log_end_moved` false: only high-watermark watches can be due.
  void notify_watches(WatchFired why = WatchFired::kOther, bool log_end_moved = true);
  // Loads the newest usable producer snapshot at or below the log end and
  // replays the batch headers after it (open()).
  void load_producers();
  // Writes the producer snapshot at the log end (roll, close). A failure is
  // logged: the next start replays more of the log instead.
  void snapshot_producers_locked();
  // A producer snapshot encoded, not yet written.
  struct PendingSnapshot {
    int64_t offset = 0;
    std::string bytes;
  };
  // Writes it; a failure is logged, as snapshot_producers_locked().
  void store_snapshot(const PendingSnapshot& snap);
  // Forgets the roll's snapshot still to be written if it names offsets
  // past `end` (truncate_to, reset: they cut them; close(Discard)).
  void drop_pending_snapshot_after(int64_t end);

  const std::string topic_;
  const int32_t partition_;
  const std::string dir_;
  const LogOptions options_;
  const Clock* clock_;
  // LiveLogOptions, read without a lock on the append path (each field on
  // its own: a roll may see a new segment_bytes with an old segment_ms).
  std::atomic<int64_t> segment_bytes_;
  std::atomic<int64_t> segment_ms_;
  std::atomic<int64_t> max_batch_bytes_;
  std::atomic<bool> requires_keys_;
  std::atomic<bool> gaps_expected_;
  std::atomic<bool> recycle_segments_;
  std::atomic<bool> preallocate_;

  mutable std::mutex append_mu_;
  ProducerState producers_;  // guarded by append_mu_
  // Rolls since the last retention pass: how many spares the partition
  // keeps for the next one. Guarded by append_mu_.
  size_t rolls_since_pass_ = 0;
  // Spares may exist in dir_ (so a pass lists it even if the topic stopped
  // recycling). Guarded by append_mu_.
  bool may_hold_spares_ = false;
  // The active segment asked for a prepared spare (reset by each new
  // active segment). Guarded by append_mu_.
  bool spare_requested_ = false;
  SpareHooks spare_hooks_;                       // set before open(), then only read
  std::atomic<bool> spares_unsupported_{false};  // fallocate refused (EOPNOTSUPP)
  std::atomic<bool> opened_{false};              // open() finished
  // Held by prepare_spare() throughout; close() takes it after setting
  // closed_, so that no spare is made in a directory that is about to go.
  std::mutex spare_mu_;
  // Its own lock; assigned under append_mu_ (so in offset order), trimmed
  // by retention and delete_records, read from any thread.
  LeaderEpochCache epochs_;
  mutable std::mutex segments_mu_;
  std::vector<std::shared_ptr<Segment>> segments_;  // oldest first; last is active
  // The segment the last roll sealed, while its fdatasync is still to come
  // (sync_sealed, flush, close, the next roll); set with segments_ in one
  // step. Weak: a segment retention, truncation or a rewrite drops
  // meanwhile goes (and its file with it) as it would without this.
  std::weak_ptr<Segment> unsynced_;           // segments_mu_
  std::atomic<bool> sealed_unsynced_{false};  // a roll queued one; see claim_sealed_sync()
  // The last roll's producer snapshot, written by the sync_waiting() that
  // ends unsynced_'s wait. segments_mu_: set with unsynced_ in one step.
  std::optional<PendingSnapshot> pending_snapshot_;
  // Set by open(); cut by truncate_to under segments_mu_, which readers
  // take only while has_gaps_ says there are any.
  std::vector<DamagedRange> gaps_;
  std::atomic<bool> has_gaps_{false};

  std::atomic<int64_t> log_start_{0};
  // The start delete_records set (0 if never): reads below it fail even
  // inside a segment. Written under start_mu_ and segments_mu_.
  std::atomic<int64_t> records_start_{0};
  // One delete_records at a time. Lock order: append_mu_, start_mu_,
  // flush_mu_, segments_mu_ (truncate_to and reset_to take all four).
  std::mutex start_mu_;
  std::atomic<int64_t> log_end_{0};
  // The high watermark (see set_replicated). Without replication, written
  // with log_end_ under append_mu_; with it, by set_high_watermark under
  // hw_mu_, which truncate_to also takes to clamp it, so that a concurrent
  // set never leaves it past a new, lower end.
  std::atomic<bool> replicated_{false};
  std::atomic<int64_t> hw_{0};
  std::mutex hw_mu_;
  // The value in the `high-watermark` file (-1: none): guarded by
  // hw_file_mu_, one checkpoint at a time.
  std::mutex hw_file_mu_;
  int64_t hw_checkpointed_ = -1;
  std::atomic<int64_t> flushed_{0};
  std::atomic<int64_t> last_flush_ms_{0};
  std::atomic<int64_t> appended_bytes_{0};  // every byte appended since open
  std::atomic<int64_t> writeback_mark_{0};  // appended_bytes_ at the last write_back()
  std::atomic<bool> writeback_queued_{false};
  std::mutex flush_mu_;  // one flush at a time per partition

  std::mutex watch_mu_;
  std::list<std::shared_ptr<Watch>> watches_;
  std::atomic<bool> closed_{false};
  // The first failed fdatasync of this log, for good (fsyncgate): Linux
  // reports a failed writeback once and marks its pages clean, so a later
  // sync "succeeds" without them and acknowledgements after it would cover
  // records the disk never got. Set by remember_failed_sync(); read by
  // refuse_after_failed_sync(), which appends and flushes call first.
  mutable std::mutex sync_failure_mu_;
  std::string sync_failure_;  // guarded by sync_failure_mu_
  std::atomic<bool> sync_failed_{false};
  std::function<void(const char*)> failpoint_;
  std::atomic<bool> rewrites_blocked_{false};
  // [disk-full] See out_of_space(). Written under append_mu_ or in open().
  std::atomic<bool> no_space_{false};
  // [disk-full] open() found no room to index the active segment and opened
  // it without indexes; the next append replaces it first. Guarded by
  // append_mu_ (set in open(), before the log is shared).
  bool active_unindexed_ = false;
};

struct PartitionLog::Watch {
  int64_t offset = 0;
  WatchOn on = WatchOn::kHighWatermark;
  std::function<void(WatchFired)> callback;
  // Held while the callback runs, so that unwatch() can wait for it.
  std::mutex mu;
  bool done = false;
};

}  // namespace keel
