// Small durable-file helpers shared by the broker's own files (markers,
// checkpoints, saved topic settings).
#pragma once

#include <string>

namespace keel {

// fsync of a directory, so that renames and creations in it survive a crash.
// Best effort: a directory that cannot be opened is left alone.
void fsync_dir(const std::string& dir);
// The same, checked: 0, or the errno of the open or the fsync that failed.
int fsync_dir_errno(const std::string& dir);
// The same, throwing keel::Error naming the directory and `for_what` (what
// the sync was to make durable) on failure.
void sync_dir_or_fail(const std::string& dir, const std::string& for_what);

// Creates `dir` and its missing parents, each one's name made durable by an
// fsync of its parent, so that a power cut cannot take a directory whose
// files were synced. Throws keel::Error.
void create_directories_durably(const std::string& dir);

// Writes a small file so that a crash leaves either the old or the new one
// (temp file, fdatasync, rename, directory fsync). Throws keel::Error,
// also when only the directory fsync failed: the file then holds the new
// content, but a power cut may bring back the old one, so nothing may be
// answered as saved.
void write_file_atomically(const std::string& path, const std::string& content);

}  // namespace keel
