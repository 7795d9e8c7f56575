// What a disk would still hold after a power cut, given the operations and
// fsyncs seen so far (see lazyfs.cpp for the file system around it).
//
// Two states are kept:
// - The *live* state is the backing directory itself: lazyfs applies every
//   operation to it at once, so the mount reads back what was written, as a
//   page cache would.
// - The *durable* state is what fsync has made durable. File data: one object
//   file per inode in the state directory (`<state>/<id>`), updated on fsync
//   or fdatasync of that file with the byte ranges written since the last one
//   (and its size). Names: for each directory, the entries (name -> inode)
//   it had when it was last made durable.
//
// When names become durable depends on the metadata model:
// - `posix` (the strict reading of fsync(2)): a create, rename or unlink is
//   durable only once its directory is fsync'd. fsync of a file makes its
//   data durable, not its name.
// - `journal` (what ext4 and XFS do in practice): metadata operations reach
//   the disk in order, and any fsync or fdatasync commits every metadata
//   operation made before it, in every directory.
// Neither model keeps a name change without an fsync after it, which is the
// worst a real journal may do.
//
// A power cut replaces the live state with the durable one: the backing
// directory is emptied and rebuilt from the durable names and objects. A file
// whose name is durable but whose data was never fsync'd comes back empty.
// Not modelled: timestamps, permissions, symlinks and hard links made through
// the mount, torn writes inside one fsync (an fsync is all or nothing).
//
// Identity: inodes are numbered by the model (never reused), not by st_ino,
// which the backing file system reuses after a delete while the durable state
// may still name the old inode.
//
// Not thread-safe: lazyfs.cpp calls it under one mutex.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <unordered_map>

#include "dirty_ranges.hpp"

namespace lazyfs {

enum class MetadataModel { posix, journal };

struct Counters {
  uint64_t file_syncs = 0;
  uint64_t dir_syncs = 0;
  uint64_t bytes_synced = 0;
};

class DurabilityModel {
 public:
  // Adopts the current content of `backing` as durable (as after a reboot)
  // and keeps durable file data under `state_dir` (an empty directory).
  DurabilityModel(const std::string& backing, const std::string& state_dir, MetadataModel model);
  ~DurabilityModel();
  DurabilityModel(const DurabilityModel&) = delete;
  DurabilityModel& operator=(const DurabilityModel&) = delete;

  // The model's id of an existing live inode.
  uint64_t id_of(ino_t ino);
  // A create or mkdir made a new inode (st_ino may be a reused number).
  uint64_t created(ino_t ino);
  // A rename, unlink or rmdir changed names.
  void names_changed() { names_dirty_ = true; }

  void wrote(uint64_t id, off_t offset, off_t length);
  void truncated(uint64_t id, off_t size);

  // fsync/fdatasync of the file `id` open as `live_fd`. Returns 0 or an errno.
  int sync_file(uint64_t id, int live_fd);
  // A failed fsync of the file `id`, as Linux fails one: what was written
  // since its last sync is forgotten (never made durable by a later sync).
  void fail_sync(uint64_t id) { changes_.erase(id); }
  // fsync of the directory `id` open as `live_fd`. Returns 0 or an errno.
  int sync_dir(uint64_t id, int live_fd);

  // The power cut: the backing directory becomes the durable state.
  void power_cut();

  off_t unsynced_bytes() const;
  const Counters& counters() const { return counters_; }

 private:
  struct Entry {
    uint64_t id;
    bool dir;
  };
  using Listing = std::map<std::string, Entry>;

  struct FileChanges {
    DirtyRanges dirty;
    off_t floor = -1;  // smallest size truncated to since the last fsync; -1: none
  };

  Listing list_live(int dir_fd);
  void snapshot_tree(int dir_fd, uint64_t id, bool copy_data);
  int copy_ranges(uint64_t id, int live_fd, bool whole_file);
  void materialize(uint64_t dir_id, const std::string& path, std::set<uint64_t>& dirs_done,
                   std::map<uint64_t, std::string>& files_done);

  std::string backing_;
  std::string state_dir_;
  MetadataModel model_;
  int root_fd_ = -1;
  int state_fd_ = -1;
  uint64_t root_id_ = 0;
  uint64_t next_id_ = 1;
  bool names_dirty_ = false;
  std::unordered_map<ino_t, uint64_t> ids_;
  std::unordered_map<uint64_t, FileChanges> changes_;
  std::unordered_map<uint64_t, Listing> durable_dirs_;
  std::set<uint64_t> durable_files_;  // ids that have an object file
  Counters counters_;
};

}  // namespace lazyfs
