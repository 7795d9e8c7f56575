// The kernel's side of segment rewriting (keel_log_rewriter): what a
// rewriting retention strategy (compaction) may do to one partition, and the
// start-up recovery of a rewrite that a crash interrupted.
//
// Files of a rewrite of the segments starting at base B (stem S = the
// 20-digit B):
//   S.cleaned.*        the replacement being written (log + index files)
//   S.cleaned.replaced-end  one line: the end E of the replaced offsets
//   S.swap.*           the replacement, committed: S.swap.log exists
//   <b>.*.deleted      files of a replaced segment b, kept for its readers
// commit() renames S.cleaned.* to S.swap.* (the log last: S.swap.log existing
// is the point of no return), renames every replaced segment's files to
// *.deleted, then S.swap.* to S.* (the log last). Recovery deletes S.cleaned.*
// (the old segments are intact), finishes a swap whose S.swap.log exists
// (deleting what remains of the old segments with a base in [B, E)), deletes
// other S.swap.* files and every *.deleted file.
//
// Threads: everything here runs on the broker's maintenance thread (or at
// open, before the log is shared).
#pragma once

#include <keel/plugin.h>

#include <atomic>
#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "storage/partition_log.hpp"
#include "storage/rewrite_progress.hpp"

namespace keel {

// Thrown by a test failpoint (PartitionLog::set_rewrite_failpoint): the
// commit stops where it is and cleans nothing up, as if the process died.
struct RewriteCrash : std::exception {
  const char* what() const noexcept override { return "simulated crash during a rewrite's commit"; }
};

// Rolls back or finishes rewrites found in `dir`; `log_name` tags the logs.
void recover_interrupted_rewrites(const std::string& dir, const std::string& log_name);

// The clean points of a partition's rewriting strategies, kept in
// <dir>/cleaner-offsets as "<strategy> <offset>" lines.
std::map<std::string, int64_t> read_clean_offsets(const std::string& dir);
// Atomic replacement: tmp file, fdatasync, rename, directory fsync.
void write_clean_offsets(const std::string& dir, const std::map<std::string, int64_t>& offsets);

class LogRewriter {
 public:
  // Snapshots the closed segments of `log` for strategy `strategy`.
  // `stopping` (may be null) becomes true when the broker shuts down.
  // `progress` (may be null) is told what the strategy reads and writes;
  // the caller finishes it when the strategy returns.
  LogRewriter(PartitionLog& log, std::string strategy, const std::atomic<bool>* stopping = nullptr,
              RewriteProgress* progress = nullptr);
  // Aborts rewrites the strategy began but neither committed nor aborted.
  ~LogRewriter();
  LogRewriter(const LogRewriter&) = delete;
  LogRewriter& operator=(const LogRewriter&) = delete;

  const keel_log_rewriter* table() const { return &table_; }

  struct Rewrite;

 private:
  static keel_status read_segment_fn(void* ctx, size_t index, keel_batch_visitor visit, void* user,
                                     keel_error* err);
  static keel_status begin_fn(void* ctx, size_t first, size_t count, keel_rewrite** out, keel_error* err);
  static keel_status write_fn(void* ctx, keel_rewrite* rw, const uint8_t* batch, size_t len, keel_error* err);
  static keel_status commit_fn(void* ctx, keel_rewrite* rw, int64_t clean_offset, keel_error* err);
  static void abort_fn(void* ctx, keel_rewrite* rw);
  static int32_t stopping_fn(void* ctx);

  Rewrite& begin(size_t first, size_t count);
  void write(Rewrite& rw, const uint8_t* batch, size_t len);
  void commit(Rewrite& rw, int64_t clean_offset);
  void discard(Rewrite& rw);
  Rewrite& rewrite_of(keel_rewrite* handle);

  PartitionLog& log_;
  std::string strategy_;
  std::string topic_;
  std::vector<std::shared_ptr<Segment>> closed_;
  std::vector<bool> replaced_;  // by a rewrite committed during this call
  std::vector<keel_segment_info> infos_;
  std::vector<std::unique_ptr<Rewrite>> rewrites_;
  const std::atomic<bool>* stopping_;
  RewriteProgress* progress_;
  keel_log_rewriter table_{};
};

}  // namespace keel
