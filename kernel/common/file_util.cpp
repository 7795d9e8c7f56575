#include "common/file_util.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "common/error.hpp"

namespace keel {

namespace fs = std::filesystem;

int fsync_dir_errno(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno;
  const int err = ::fsync(fd) == 0 ? 0 : errno;
  ::close(fd);
  return err;
}

void fsync_dir(const std::string& dir) { (void)fsync_dir_errno(dir); }

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
  fsync_dir(fs::path(path).parent_path().string());
}

}  // namespace keel
