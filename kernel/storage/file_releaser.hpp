// Frees a deleted file's blocks a few MiB at a time, off the deleting
// thread.
//
// Unlinking a 1 GiB segment frees all its blocks in one call. On a file
// system mounted with `discard` (common on cloud disks) that call issues
// and waits for the discards of the whole file, and the appends and
// fdatasyncs of every other partition on the device queue behind them:
// bench/recycle_ab.sh saw acks=all p99.9 of 140-177 ms while retention
// deleted 64 MiB segments (docs/performance.md, "Recycled segments").
// RocksDB's DeleteScheduler cuts files down in chunks for the same reason.
//
// The caller unlinks the name itself (so the file is gone from the
// directory at once, and a crash leaves nothing to recover: the file
// system reclaims an unlinked inode at mount) and hands over its open
// descriptor; one background thread then truncates the file from its end
// in kChunkBytes steps and closes it. Between steps the device queue is
// free for the others' writes.
//
// Threads: release() from any thread; the releaser's own thread does the
// rest. drain() waits until everything handed in so far is freed.
#pragma once

#include <cstdint>
#include <string>

namespace keel::file_releaser {

// Each step frees this much. Not timed on its own: deleting a 64 MiB file
// at once stalled appends 21-26 ms here, so about an eighth of that.
inline constexpr int64_t kChunkBytes = 8 << 20;

// Takes ownership of `fd`, a descriptor of a file whose last name is gone.
// A file no larger than one chunk is closed at once, on the caller's
// thread.
void release(int fd);

// Deletes the file at `path` as above: the name now, the blocks through
// release(). Returns the file's size, or -1 if there was no such file.
int64_t remove(const std::string& path);

// Waits until every file released before the call is truncated and closed.
void drain();

}  // namespace keel::file_releaser
