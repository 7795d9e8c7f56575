#include "common/file_util.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <vector>

#include "common/error.hpp"

namespace keel {

namespace fs = std::filesystem;

namespace {

// The directory holding `path`: "." for a bare name.
std::string directory_of(const fs::path& path) {
  const fs::path parent = path.parent_path();
  return parent.empty() ? "." : parent.string();
}

}  // namespace

int fsync_dir_errno(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno;
  const int err = ::fsync(fd) == 0 ? 0 : errno;
  ::close(fd);
  return err;
}

void fsync_dir(const std::string& dir) { (void)fsync_dir_errno(dir); }

void sync_dir_or_fail(const std::string& dir, const std::string& for_what) {
  if (const int e = fsync_dir_errno(dir); e != 0) {
    fail(status_from_errno(e), "fsync of directory '" + dir + "' (for " + for_what + ") failed: " +
                                   errno_text(e) + "; a power cut may undo it. Check the disk (dmesg)");
  }
}

void create_directories_durably(const std::string& dir) {
  fs::path target = fs::path(dir).lexically_normal();
  if (!target.has_filename()) target = target.parent_path();  // "a/b/" -> "a/b"
  // The missing ones, deepest first.
  std::vector<fs::path> missing;
  std::error_code ec;
  for (fs::path p = target; !p.empty() && !fs::exists(p, ec); p = p.parent_path()) {
    missing.push_back(p);
    if (p == p.parent_path()) break;
  }
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    if (::mkdir(it->c_str(), 0755) != 0 && errno != EEXIST) {
      const int e = errno;
      fail(status_from_errno(e), "cannot create directory '" + it->string() + "': " + errno_text(e));
    }
    sync_dir_or_fail(directory_of(*it), "the name of new directory '" + it->string() + "'");
  }
}

void write_file_atomically(const std::string& path, const std::string& content) {
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail(status_from_errno(errno), "cannot write '" + tmp + "': " + errno_text(errno));
  ssize_t n = ::write(fd, content.data(), content.size());
  int err = n == static_cast<ssize_t>(content.size()) ? 0 : (n < 0 ? errno : EIO);
  if (err == 0 && ::fdatasync(fd) != 0) err = errno;
  ::close(fd);
  if (err != 0) {
    ::unlink(tmp.c_str());
    fail(status_from_errno(err), "cannot write '" + path + "': " + errno_text(err));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    fail(status_from_errno(errno), "cannot rename '" + tmp + "' to '" + path + "': " + errno_text(errno));
  }
  sync_dir_or_fail(directory_of(path), "the new content of '" + path + "'");
}

}  // namespace keel
