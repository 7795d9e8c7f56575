// One segment of a partition's log: a file of RecordBatch v2 batches named by
// its 20-digit base offset (as Kafka), plus one instance of each index
// strategy the topic chose.
//
// Threads: appends, truncation and sealing come from the partition's single
// writer (PartitionLog holds its append lock). Reads run concurrently on any
// thread and only see bytes below size(), which is published after the write
// and the index updates are done.
#pragma once

#include <keel/plugin.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "plugin_registry.hpp"

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
};

class Segment {
 public:
  // Opens <dir>/<stem>.log, creating it if missing; the stem defaults to
  // file_name(base_offset). A rewrite builds its replacement under the stem
  // "<base>.cleaned" so that it never touches the live files.
  Segment(const std::string& dir, int64_t base_offset, std::vector<IndexSpec> indexes, std::string stem = "");
  ~Segment();
  Segment(const Segment&) = delete;
  Segment& operator=(const Segment&) = delete;

  static std::string file_name(int64_t base_offset);  // "00000000000000001234"
  // Names (not paths) of the files in `dir` that belong to the segment set
  // `stem`: "<stem>.<ext>", but not a rewrite's "<stem>.cleaned.*" or
  // "<stem>.swap.*" files, nor files already renamed to "*.deleted".
  static std::vector<std::string> files_of(const std::string& dir, const std::string& stem);

  // Brings the segment to a consistent state after open: with `verify`, reads
  // every batch and checks length and CRC, truncating at the first one that
  // fails (an unclean stop); always opens the indexes and replays the batches
  // they miss. Throws on I/O errors.
  SegmentRecovery recover(bool verify, bool writable);

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
  // it), at least one, then more while the total stays <= max_bytes.
  Span read(int64_t offset, int64_t max_bytes) const;

  // First offset with a timestamp >= ts, and that timestamp; {-1,-1} if none.
  std::pair<int64_t, int64_t> find_time(int64_t timestamp) const;

  // Checks that the file system can take `bytes` more at the end of the
  // log, by allocating them beyond the file's end and giving them back.
  // Throws NO_SPACE naming the file when it cannot; does nothing where the
  // file system cannot allocate ahead. Called by the writer only.
  void probe_space(int64_t bytes);
  void flush();  // fdatasync the log, flush the indexes
  // fdatasync the log only: what acks=all waits for. Indexes need no sync
  // there, since recovery rebuilds whatever they miss from the log.
  void sync_log();
  void seal();  // the segment is no longer active
  // Delete the files once the last user lets go.
  void mark_deleted() { deleted_.store(true); }
  // A rewrite replaced this segment: renames its files to "<name>.deleted"
  // (the replacement takes the original names) and deletes those renamed
  // files once the last user lets go. The open fd keeps serving readers.
  // Throws on the first rename that fails (the ones before stay renamed).
  void rename_aside();

  // Calls `visit` with each whole batch below size(), in order, until it
  // returns false. Throws on I/O errors.
  void for_each_batch(const std::function<bool(const uint8_t*, size_t)>& visit) const;

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
  int64_t verify_batches();  // returns the valid length
  void truncate_file(int64_t size);
  void index_append(const BatchMeta& meta, int64_t position);
  const IndexInstance* index_with(uint32_t capability) const;

  std::string dir_;
  std::string path_;
  std::string prefix_;  // path without ".log": index files derive from it
  int64_t base_offset_;
  int fd_ = -1;
  std::vector<IndexSpec> specs_;
  std::vector<IndexInstance> indexes_;
  std::atomic<int64_t> size_{0};
  std::atomic<int64_t> next_offset_;
  std::atomic<int64_t> max_timestamp_{-1};
  int64_t created_ms_ = 0;
  std::atomic<bool> deleted_{false};
  std::vector<std::string> renamed_;  // paths after rename_aside()
  std::string truncation_reason_;
};

}  // namespace keel
