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

// Writes a small file so that a crash leaves either the old or the new one
// (temp file, fdatasync, rename, directory fsync). Throws keel::Error.
void write_file_atomically(const std::string& path, const std::string& content);

}  // namespace keel
