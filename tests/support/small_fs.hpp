// A small tmpfs mounted on a temp dir: a file system that really runs full.
// A full disk cannot be faked with RLIMIT_FSIZE for mapped files: a store
// through a mapping into a page with no block behind it raises SIGBUS on a
// full file system, whatever the limits. Mounting needs CAP_SYS_ADMIN
// (root); without it mounted() is false and why_not() says why, and tests
// skip with that reason.
#pragma once

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "temp_dir.hpp"

namespace keel::test {

class SmallFs {
 public:
  explicit SmallFs(size_t bytes) : dir_("keel-small-fs") {
    const std::string opts = "size=" + std::to_string(bytes) + ",mode=0755";
    if (::mount("keel-test", dir_.str().c_str(), "tmpfs", MS_NOSUID | MS_NODEV, opts.c_str()) != 0) {
      why_not_ = "cannot mount a " + std::to_string(bytes) + "-byte tmpfs on " + dir_.str() + ": " +
                 std::strerror(errno) + " (needs root / CAP_SYS_ADMIN)";
      return;
    }
    mounted_ = true;
  }
  ~SmallFs() {
    // Lazy: a file a failed test left open must not keep the mount around.
    if (mounted_) ::umount2(dir_.str().c_str(), MNT_DETACH);
  }
  SmallFs(const SmallFs&) = delete;
  SmallFs& operator=(const SmallFs&) = delete;

  bool mounted() const { return mounted_; }
  const std::string& why_not() const { return why_not_; }
  std::string sub(const std::string& name) const { return dir_.sub(name); }

  size_t free_bytes() const {
    struct statvfs st {};
    if (::statvfs(dir_.str().c_str(), &st) != 0) return 0;
    return static_cast<size_t>(st.f_bavail) * st.f_frsize;
  }

  // Takes every free block with a filler file, then gives back `leave`
  // bytes (rounded down to whole pages) of it. Returns false if the filler
  // cannot be written.
  bool fill(size_t leave = 0) {
    const std::string path = sub("filler");
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return false;
    const std::vector<char> chunk(64 * 1024, 'f');
    size_t want = chunk.size();
    while (want > 0) {
      const ssize_t n = ::write(fd, chunk.data(), want);
      if (n > 0) continue;
      if (n < 0 && errno != ENOSPC) {
        ::close(fd);
        return false;
      }
      want /= 2;  // full for this size: try smaller pieces down to one byte
    }
    const off_t size = ::lseek(fd, 0, SEEK_END);
    const off_t page = ::sysconf(_SC_PAGESIZE);
    const off_t keep = std::max<off_t>(0, (size - static_cast<off_t>(leave)) / page * page);
    const bool ok = ::ftruncate(fd, keep) == 0;
    ::close(fd);
    return ok;
  }
  // Deletes the filler: the space is back.
  void free_filler() { ::unlink(sub("filler").c_str()); }

 private:
  TempDir dir_;
  bool mounted_ = false;
  std::string why_not_;
};

}  // namespace keel::test
