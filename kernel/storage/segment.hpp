// One segment of a partition's log: a file of RecordBatch v2 batches named by
// its 20-digit base offset (as Kafka), plus one instance of each index
// strategy the topic chose.
//
// Threads: appends, truncation and sealing come from the partition's single
// writer (PartitionLog holds its append lock); after a roll, the sealing of
// the old segment comes from the thread that syncs it (under the
// partition's flush lock; the writer no longer touches it). Reads run concurrently on any
// thread and only see bytes below size(), which is published after the write
// and the index updates are done.
#pragma once

#include <keel/plugin.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "plugins/plugin_registry.hpp"
#include "storage/batch_probe.hpp"
#include "storage/damaged_range.hpp"
#include "storage/recent_batches.hpp"
#include "storage/verified_ranges.hpp"

struct iovec;

namespace keel {

// An index strategy as a topic configured it.
struct IndexSpec {
  StrategyRef strategy;
  const keel_config* config = nullptr;
};

// What the kernel knows of a batch it appends.
struct BatchMeta {
  int64_t base_offset = 0;
  int64_t last_offset = 0;
  int64_t max_timestamp = -1;
  int32_t size = 0;
};

struct SegmentRecovery {
  int64_t truncated_bytes = 0;    // torn/corrupt tail dropped
  int64_t batches_scanned = 0;    // batches read to catch indexes up
  std::string truncation_reason;  // why the tail was dropped
  // Bytes after the data that were never written by this segment: the rest
  // of a reused file (zeros, or an older segment's batches), cut off.
  int64_t unused_bytes = 0;
};

// How Segment::recover treats what it finds.
struct RecoverOptions {
  // Read every batch and check its CRC (an unclean stop, at or after the
  // recovery point); otherwise only the batch headers the indexes have not
  // seen are walked.
  bool verify = false;
  // Damage whose first offset is at or beyond this may be a torn write of
  // an unclean stop: the file is cut there (in a segment with an end_offset,
  // only when no readable batch follows it: a lost, unsynced tail).
  // Anywhere else damage is quarantined and the batches after it stay.
  int64_t cut_from_offset = INT64_MAX;
  // The next segment's base (INT64_MAX for the last segment): no batch here
  // reaches it.
  int64_t end_offset = INT64_MAX;
  // Offsets below this were acknowledged and flushed (the recovery
  // checkpoint): damage at the file's end hides at least up to it.
  int64_t acknowledged_end = 0;
  bool writable = false;
};

class Segment {
 public:
  // Opens <dir>/<stem>.log, creating it if missing; the stem defaults to
  // file_name(base_offset). A rewrite builds its replacement under the stem
  // "<base>.cleaned" so that it never touches the live files.
  //
  // `reuse` names a spare file (spare_segment.hpp) to become this segment's
  // log: renamed to the segment's name and written from its start, so that
  // appends overwrite blocks the file system already holds instead of
  // growing the file (docs/performance.md, "What the file's shape costs").
  // The segment's size is then the data written, not the file's; roll and
  // close cut the rest off (trim_unused). Without such a file (gone, or a
  // file already at the segment's name) the segment is created as usual.
  Segment(const std::string& dir, int64_t base_offset, std::vector<IndexSpec> indexes, std::string stem = "",
          const std::string& reuse = "");
  ~Segment();
  Segment(const Segment&) = delete;
  Segment& operator=(const Segment&) = delete;

  static std::string file_name(int64_t base_offset);  // "00000000000000001234"
  // Names (not paths) of the files in `dir` that belong to the segment set
  // `stem`: "<stem>.<ext>", but not a rewrite's "<stem>.cleaned.*" or
  // "<stem>.swap.*" files, nor files already renamed to "*.deleted".
  static std::vector<std::string> files_of(const std::string& dir, const std::string& stem);

  // Brings the segment to a consistent state after open (see
  // RecoverOptions): verifies or walks the batches, cuts a torn tail or
  // quarantines damage, opens the indexes, checks them against the log
  // (rebuilding one that disagrees) and replays the batches they miss.
  // Throws on I/O errors.
  SegmentRecovery recover(const RecoverOptions& options);
  SegmentRecovery recover(bool verify, bool writable) {
    RecoverOptions o;
    o.verify = verify;
    o.cut_from_offset = verify ? 0 : INT64_MAX;
    o.writable = writable;
    return recover(o);
  }

  // Appends batches (already checked, offsets assigned) given as iovecs at
  // the end of the file and tells the indexes. On failure the file is cut
  // back to its previous size and an Error is thrown.
  void append(const struct iovec* iov, int iovcnt, const std::vector<BatchMeta>& batches);

  struct Span {
    int64_t position = 0;
    int64_t length = 0;   // 0: nothing at or after the offset in this segment
    int64_t records = 0;  // records in those batches (from their headers)
  };
  // Whole batches starting at the one holding `offset` (or the first after
  // it), at least one, then more while the total stays <= max_bytes. The
  // bytes returned have passed their CRC check (once per process). Throws
  // KEEL_ERR_CORRUPT when `offset` lies in damaged bytes; a span stops
  // before damage. No batch whose last offset is at or past `limit_offset`
  // is included (a consumer's read below the high watermark): when the
  // batch holding `offset` reaches it, the span is empty.
  Span read(int64_t offset, int64_t max_bytes, int64_t limit_offset = INT64_MAX) const;

  // Where cutting this segment so that it holds nothing at or after
  // `offset` leaves it (a follower's truncation): the position of the first
  // batch holding `offset` or a later one — a batch holding it goes whole,
  // as Kafka cuts, so next_offset may be below `offset` — or of damage
  // reaching it; the offset after what stays, and the newest timestamp
  // that stays. position == size() when nothing goes.
  struct Cut {
    int64_t position = 0;
    int64_t next_offset = 0;
    int64_t max_timestamp = -1;
  };
  Cut find_cut(int64_t offset) const;
  // Cuts the file at cut.position, tells the indexes (their truncate, then
  // the replay of the kept batches they lost, as recovery does), forgets
  // damage past the cut, then syncs the file and the indexes: the cut
  // batches do not come back after a crash. Writer only (under the
  // partition's append lock). Throws on I/O or index errors.
  void truncate(const Cut& cut);

  // First offset with a timestamp >= ts, and that timestamp; {-1,-1} if none.
  std::pair<int64_t, int64_t> find_time(int64_t timestamp) const;

  // Checks that the file system can take `bytes` more at the end of the
  // log, by allocating them beyond the file's end and giving them back.
  // Throws NO_SPACE naming the file when it cannot; does nothing where the
  // file system cannot allocate ahead. Called by the writer only.
  void probe_space(int64_t bytes);
  void flush();  // fdatasync the log, flush the indexes
  // fdatasync the log only: what acks=all waits for. Indexes need no sync
  // there, since recovery rebuilds whatever they miss from the log. The
  // first sync after defer_name_sync() also fsyncs the directory, so that
  // the file's name is on disk with the first data a sync promises.
  void sync_log();
  // A roll creates the new segment while every append of the partition
  // waits for it; the directory fsync that makes the new name durable is a
  // journal commit, which waits for the file system's ordered data (up to
  // 0.7 s here with the disk busy: docs/performance.md, "The roll as a
  // swap"). Nothing needs the name on disk before data in the file is
  // promised durable, so the roll leaves that fsync to the segment's first
  // sync_log(). Before the segment is shared.
  void defer_name_sync() { name_synced_.store(false, std::memory_order_release); }
  // Starts the kernel's writeback of the log file up to byte `to` (rounded
  // down to a page: the last partial page is written with the next call),
  // after waiting for the writeback the previous call started. Not a
  // durability point (fdatasync is): it keeps the dirty part of the file
  // small, so a later fdatasync (a roll, acks=all) and the kernel's dirty
  // throttling of the appender never meet a large dirty set. Waiting for
  // the previous window bounds what is in flight to about one window and
  // paces the caller at the disk's speed. Errors are left to the next
  // fdatasync, which reports them. Flusher thread only (under the
  // partition's flush lock).
  void write_back(int64_t to);
  int64_t written_back() const { return written_back_.load(); }
  // The segment is no longer active: its indexes drop their room ahead.
  // Idempotent. The writer, or after a roll the thread that syncs the
  // sealed segment (PartitionLog::sync_waiting, under the flush lock: a
  // roll leaves it for there, since an index's cut waits on the file
  // system's journal).
  void seal();
  // Cuts a reused or preallocated file to the data written to it (nothing
  // after size()), so that a closed segment's file holds its batches and
  // nothing else; the file keeps its modification time. The cut is durable
  // with the next fdatasync (flush). Idempotent. Writer only, or as seal()
  // once the segment is no longer active.
  void trim_unused();
  // This segment's file was a spare (spare_segment.hpp).
  bool reused() const { return reused_; }
  // Sets the file's size to `bytes` ahead of the data, as a hole (no block
  // is held): appends up to it then never grow the file, so only the
  // segment's first fdatasync carries a size change (Kafka's `preallocate`,
  // which also sets the length). Not synced here: the roll that calls it
  // holds every append of the partition.
  // Recovery and trim_unused() treat the hole as a reused file's unused
  // rest: the data ends at the first zero header. No-op when the file is
  // already that long. Writer only.
  void preallocate(int64_t bytes);
  // When the last user lets go of a deleted segment, its log file becomes
  // the spare at `spare_path` instead of being unlinked (its index files
  // go). Set before mark_deleted(); retention only (the spare's batches
  // must all lie below every offset the partition will write again).
  void recycle_into(std::string spare_path) { recycle_to_ = std::move(spare_path); }
  // Delete the files once the last user lets go.
  void mark_deleted() { deleted_.store(true); }
  // A rewrite replaced this segment: renames its files to "<name>.deleted"
  // (the replacement takes the original names) and deletes those renamed
  // files once the last user lets go. The open fd keeps serving readers.
  // Throws on the first rename that fails (the ones before stay renamed).
  void rename_aside();

  // Calls `visit` with each whole, CRC-valid batch below size(), in order,
  // until it returns false. Damaged bytes are quarantined and passed to
  // `on_damage` (without one, KEEL_ERR_CORRUPT is thrown). Throws on I/O
  // errors.
  void for_each_batch(const std::function<bool(const uint8_t*, size_t)>& visit,
                      const std::function<void(const DamagedRange&)>& on_damage = {}) const;

  // Calls `visit` with the header of each batch below size(), in order,
  // until it returns false, passing over damage as reads do. Headers only:
  // CRCs are not checked here (recovery and first reads check them), which
  // keeps a walk over a whole log to one small read per batch.
  void for_each_header(const std::function<bool(const batch::Header&)>& visit) const;

  // Quarantined ranges found so far (at recovery or by reads), in file order.
  std::vector<DamagedRange> damaged_ranges() const;
  // The file ends in damaged bytes: nothing may be appended after them.
  bool damaged_tail() const;

  int fd() const { return fd_; }
  const std::string& path() const { return path_; }
  const std::string& prefix() const { return prefix_; }
  int64_t base_offset() const { return base_offset_; }
  int64_t size() const { return size_.load(std::memory_order_acquire); }
  int64_t next_offset() const { return next_offset_.load(std::memory_order_acquire); }
  int64_t max_timestamp() const { return max_timestamp_.load(std::memory_order_acquire); }
  int64_t created_ms() const { return created_ms_; }
  void set_created_ms(int64_t ms) { created_ms_ = ms; }
  int64_t last_modified_ms() const;
  int64_t index_entries() const;
  keel_segment_info info() const;

 private:
  struct IndexInstance {
    IndexSpec spec;
    const keel_index_vtable* vt = nullptr;
    keel_index* handle = nullptr;
  };

  // Reads the 61-byte header at pos into out; false at/after `limit` or if
  // the header does not fit below it.
  bool read_header(int64_t pos, int64_t limit, uint8_t* out) const;
  // CRC-checks every batch from the start, cutting (torn tail) or
  // quarantining damage as `o` says.
  void verify_batches(const RecoverOptions& o, SegmentRecovery& result);
  // Opens the indexes; checks their newest entries against the log and
  // empties those that disagree. Returns where the replay must start.
  int64_t open_indexes(bool writable);
  // The header at `position` is a batch of this segment (with base offset
  // `base` when base >= 0).
  bool batch_at(int64_t position, int64_t base, int64_t limit) const;
  // The damaged range holding byte `pos`, if any.
  std::optional<DamagedRange> damage_at(int64_t pos) const;
  // Records damage found at `pos` (the batch before it ended below
  // `min_base`): resynchronises on the next valid batch, logs the range and
  // returns it. Idempotent for a position already quarantined.
  DamagedRange quarantine(int64_t pos, int64_t min_base, int64_t limit, const std::string& why) const;
  // The same for damage met by a walk of headers at `pos`, coming from the
  // batch at `prev` (-1: none): if that batch fails its CRC, the damage
  // starts there instead.
  DamagedRange quarantine_walk(int64_t prev, int64_t prev_min_base, int64_t pos, int64_t min_base,
                               int64_t limit, const std::string& why) const;
  // CRC-checks a span not verified yet; returns it cut before the first
  // damaged batch (quarantined). Throws if that leaves nothing for `offset`.
  Span verify_span(Span span, int64_t offset) const;
  [[noreturn]] void fail_damaged(const DamagedRange& d, int64_t offset) const;
  // A walk over batch headers from `pos` (offsets from `min_base` on).
  struct HeaderWalk {
    int64_t pos = 0;
    int64_t min_base = 0;
    int64_t prev = -1;  // the batch whose length led to pos
    int64_t prev_min_base = 0;
    // Recovery's walk: a header that unused_from() accepts ends the data
    // (its position goes to unused_at) instead of being damage.
    bool unused_ends_data = false;
    int64_t unused_at = -1;
    void advance(const batch::Header& h);
  };
  // The plausible header at w.pos, or nullopt at `limit`. Passes over known
  // damage (calling `skipped` with it) and quarantines damage it meets.
  std::optional<batch::Header> next_header(HeaderWalk& w, int64_t limit,
                                           const std::function<void(const DamagedRange&)>& skipped) const;
  void truncate_file(int64_t size);
  // ftruncate to `bytes` keeping the modification time; `what` names the
  // step in an error.
  void set_file_size(int64_t bytes, const char* what);
  // Recovery's test for the end of the data in a reused file: the header at
  // a position is all zeros or belongs to an older segment (a base offset
  // below this segment's), and nothing known to exist is missing there
  // (`min_base` reaches the next segment's base, or for the last segment
  // the acknowledged end). Anywhere else such a header is damage.
  bool unused_from(int64_t pos, int64_t limit, int64_t min_base) const;
  // Recovery found the data to end at `pos` in a longer file: cuts the
  // rest off (a writable segment) or only stops reading there.
  void end_data_at(int64_t pos, bool writable, SegmentRecovery& result);
  void index_append(const BatchMeta& meta, int64_t position);
  // Tells each index whose recovery position `index_from` is at or before
  // `pos` about the batch `h` there (recovery and truncate's replay).
  void index_replay(const batch::Header& h, int64_t pos, const std::vector<int64_t>& index_from);
  const IndexInstance* index_with(uint32_t capability) const;
  // lookup_offset or lookup_time (by `capability`) of one index; false (and
  // the plugin's message logged, rate-limited) when the index fails.
  bool lookup(const IndexInstance& inst, uint32_t capability, int64_t key, keel_index_entry* e) const;

  std::string dir_;
  std::string path_;
  std::string prefix_;  // path without ".log": index files derive from it
  int64_t base_offset_;
  int fd_ = -1;
  std::vector<IndexSpec> specs_;
  std::vector<IndexInstance> indexes_;
  std::atomic<int64_t> size_{0};
  // The file's own size where it exceeds size_ (a reused file's unused
  // rest); otherwise equal to size_ or stale-low. Writer only.
  int64_t file_size_ = 0;
  bool reused_ = false;  // see reused()
  // Bytes before this may hold an older file's data (a reused file's rest,
  // or what a crash left): appends there leave zeros after their data.
  // Writer only.
  int64_t stale_until_ = 0;
  std::string recycle_to_;  // see recycle_into()
  std::atomic<int64_t> next_offset_;
  std::atomic<int64_t> max_timestamp_{-1};
  int64_t created_ms_ = 0;
  std::atomic<bool> deleted_{false};
  // False from defer_name_sync() until a sync_log() fsyncs the directory.
  std::atomic<bool> name_synced_{true};
  // write_back()'s last end: written by the flusher thread, lowered by a
  // truncation (so the cut-and-rewritten range is written back again).
  std::atomic<int64_t> written_back_{0};
  int64_t last_window_start_ = 0;     // of the previous write_back(); flusher thread only
  std::vector<std::string> renamed_;  // paths after rename_aside()
  int64_t end_offset_ = INT64_MAX;    // see RecoverOptions
  int64_t acknowledged_end_ = 0;
  mutable VerifiedRanges verified_;
  RecentBatches recent_;  // of the active segment: see recent_batches.hpp
  // Damage is found by recovery and by any reader: guarded by damage_mu_;
  // has_damage_ spares readers the lock while there is none.
  mutable std::mutex damage_mu_;
  mutable std::vector<DamagedRange> damaged_;
  mutable std::atomic<bool> has_damage_{false};
  mutable std::atomic<bool> index_warned_{false};  // a bad index entry was logged
};

}  // namespace keel
