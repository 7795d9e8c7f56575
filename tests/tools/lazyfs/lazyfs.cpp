// keel-lazyfs: a FUSE pass-through file system that forgets, at a simulated
// power cut, everything not made durable by fsync (in the spirit of Jepsen's
// LazyFS). SIGKILL of a process keeps the page cache, so a kill test never
// checks that fsync is called where it must be; this does.
//
//   keel-lazyfs [--metadata=posix|journal] <backing-dir> <mountpoint> [FUSE options, e.g. -f]
//
// Every operation on <mountpoint> is applied to <backing-dir> at once (so the
// mount reads back what was written); durability_model.hpp tracks what fsync
// made durable, and --metadata chooses when names become durable (default
// posix: only after fsync of the directory). Writing to the control file
//
//   echo crash > <mountpoint>/.lazyfs-ctl
//
// cuts the power: <backing-dir> is rebuilt from the durable state and every
// later operation on the mount fails with EIO (the machine is off). Then
// unmount (fusermount3 -u), and mount again to "reboot" on what the disk held.
// Reading the control file gives counters (syncs, bytes not yet synced).
//
//   echo "fail-next-fsync .log" > <mountpoint>/.lazyfs-ctl
//
// makes the next fsync/fdatasync of a file whose path ends in ".log" fail
// with EIO the way Linux fails one: the data written since the last sync is
// dropped from what the disk will hold (the kernel marks those pages clean
// after a failed writeback), the live file keeps reading it back, and the
// next fsync succeeds without writing it ("fsyncgate"). The suffix may name a
// directory too (e.g. "/.topics"): its fsync fails, and the names made or
// changed in it since its last successful fsync stay not durable.
// The control file is absent from directory listings.
//
// Kernel caching: writes are write-through (no writeback cache), so the
// model sees every write as it happens; shared writable mmap works (no
// direct_io) and its pages reach the model when the kernel writes them back
// (msync, fsync, or page reclaim). Unlinked open files are removed at once
// (hard_remove) rather than renamed to .fuse_hidden files.
//
// Concurrency: libfuse calls the operations from several threads; one mutex
// serialises them all (this is a test tool: simple over fast).
#define FUSE_USE_VERSION 35
#include <dirent.h>
#include <fcntl.h>
#include <fuse.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "durability_model.hpp"

namespace {

using lazyfs::DurabilityModel;

constexpr const char* kCtlPath = "/.lazyfs-ctl";

struct Handle {
  int fd = -1;
  uint64_t id = 0;
  bool ctl = false;
  std::string path;  // as opened (nullpath_ok: later calls may get no path)
};

std::mutex g_mu;
std::unique_ptr<DurabilityModel> g_model;
int g_root = -1;
bool g_off = false;             // after the power cut
std::string g_fail_next_fsync;  // path suffix of the next fsync to fail; empty: none
std::string g_backing;
std::string g_state_dir;
lazyfs::MetadataModel g_metadata = lazyfs::MetadataModel::posix;

// Path relative to the backing directory, for the *at() calls.
const char* rel(const char* path) { return path[1] ? path + 1 : "."; }
bool is_ctl(const char* path) { return path && std::strcmp(path, kCtlPath) == 0; }
Handle* handle(fuse_file_info* fi) { return reinterpret_cast<Handle*>(fi->fh); }

// Whether this fsync (of a file or a directory, opened as `path`) is the one
// asked to fail; if so, the request is used up. Under g_mu.
bool take_failing_fsync(const std::string& path) {
  const std::string& suffix = g_fail_next_fsync;
  if (suffix.empty() || path.size() < suffix.size() ||
      path.compare(path.size() - suffix.size(), suffix.size(), suffix) != 0) {
    return false;
  }
  g_fail_next_fsync.clear();
  return true;
}

int neg_errno() { return -errno; }

#define LAZYFS_GUARD()        \
  std::lock_guard lock(g_mu); \
  do {                        \
    if (g_off) return -EIO;   \
  } while (0)

int op_getattr(const char* path, struct stat* st, fuse_file_info* fi) {
  std::lock_guard lock(g_mu);
  if (is_ctl(path) || (fi && handle(fi)->ctl)) {
    *st = {};
    st->st_mode = S_IFREG | 0600;
    st->st_nlink = 1;
    return 0;
  }
  if (g_off) return -EIO;
  const int rc = fi ? ::fstat(handle(fi)->fd, st) : ::fstatat(g_root, rel(path), st, AT_SYMLINK_NOFOLLOW);
  return rc == 0 ? 0 : neg_errno();
}

int op_opendir(const char* path, fuse_file_info* fi) {
  LAZYFS_GUARD();
  const int fd = ::openat(g_root, rel(path), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return neg_errno();
  struct stat st;
  ::fstat(fd, &st);
  fi->fh = reinterpret_cast<uint64_t>(new Handle{fd, g_model->id_of(st.st_ino), false, path});
  return 0;
}

int op_readdir(const char*, void* buf, fuse_fill_dir_t filler, off_t, fuse_file_info* fi,
               fuse_readdir_flags) {
  LAZYFS_GUARD();
  const int fd = ::dup(handle(fi)->fd);
  DIR* d = fd < 0 ? nullptr : ::fdopendir(fd);
  if (!d) return neg_errno();
  ::rewinddir(d);
  while (struct dirent* e = ::readdir(d)) {
    struct stat st = {};
    st.st_ino = e->d_ino;
    st.st_mode = static_cast<mode_t>(DTTOIF(e->d_type));
    if (filler(buf, e->d_name, &st, 0, static_cast<fuse_fill_dir_flags>(0))) break;
  }
  ::closedir(d);
  return 0;
}

int op_release(const char*, fuse_file_info* fi) {
  std::lock_guard lock(g_mu);  // closing is allowed after the power cut
  Handle* h = handle(fi);
  if (h->fd >= 0) ::close(h->fd);
  delete h;
  return 0;
}

int op_fsyncdir(const char*, int, fuse_file_info* fi) {
  LAZYFS_GUARD();
  if (take_failing_fsync(handle(fi)->path)) {
    // Nothing of the directory becomes durable: its new names stay as
    // they are on the disk until a later fsync of it succeeds.
    std::fprintf(stderr, "lazyfs: fsync of directory '%s' failed as asked (EIO)\n", handle(fi)->path.c_str());
    return -EIO;
  }
  return -g_model->sync_dir(handle(fi)->id, handle(fi)->fd);
}

int op_mkdir(const char* path, mode_t mode) {
  LAZYFS_GUARD();
  if (::mkdirat(g_root, rel(path), mode) != 0) return neg_errno();
  struct stat st;
  if (::fstatat(g_root, rel(path), &st, AT_SYMLINK_NOFOLLOW) != 0) return neg_errno();
  g_model->created(st.st_ino);
  return 0;
}

int op_unlink(const char* path) {
  LAZYFS_GUARD();
  if (::unlinkat(g_root, rel(path), 0) != 0) return neg_errno();
  g_model->names_changed();
  return 0;
}

int op_rmdir(const char* path) {
  LAZYFS_GUARD();
  if (::unlinkat(g_root, rel(path), AT_REMOVEDIR) != 0) return neg_errno();
  g_model->names_changed();
  return 0;
}

int op_rename(const char* from, const char* to, unsigned int flags) {
  LAZYFS_GUARD();
  if (::renameat2(g_root, rel(from), g_root, rel(to), flags) != 0) return neg_errno();
  g_model->names_changed();
  return 0;
}

// The backing file is opened without O_APPEND (the kernel already turns an
// append into a write at the end it knows) and readable even when opened
// write-only, since fsync copies from it.
int backing_flags(int flags) {
  flags &= ~(O_APPEND | O_DIRECT | O_CREAT | O_EXCL);
  if ((flags & O_ACCMODE) == O_WRONLY) flags = (flags & ~O_ACCMODE) | O_RDWR;
  return flags | O_CLOEXEC;
}

int op_create(const char* path, mode_t mode, fuse_file_info* fi) {
  LAZYFS_GUARD();
  if (is_ctl(path)) return -EEXIST;
  bool made = true;
  int fd = ::openat(g_root, rel(path), backing_flags(fi->flags) | O_CREAT | O_EXCL, mode);
  if (fd < 0 && errno == EEXIST && !(fi->flags & O_EXCL)) {
    made = false;
    fd = ::openat(g_root, rel(path), backing_flags(fi->flags));
  }
  if (fd < 0) return neg_errno();
  struct stat st;
  ::fstat(fd, &st);
  const uint64_t id = made ? g_model->created(st.st_ino) : g_model->id_of(st.st_ino);
  if (!made && (fi->flags & O_TRUNC)) g_model->truncated(id, 0);
  fi->fh = reinterpret_cast<uint64_t>(new Handle{fd, id, false, path});
  return 0;
}

int op_open(const char* path, fuse_file_info* fi) {
  std::lock_guard lock(g_mu);
  if (is_ctl(path)) {
    fi->direct_io = 1;  // its size is 0: reads must not be cut by the page cache
    fi->fh = reinterpret_cast<uint64_t>(new Handle{-1, 0, true, {}});
    return 0;
  }
  if (g_off) return -EIO;
  const int fd = ::openat(g_root, rel(path), backing_flags(fi->flags));
  if (fd < 0) return neg_errno();
  struct stat st;
  ::fstat(fd, &st);
  const uint64_t id = g_model->id_of(st.st_ino);
  if (fi->flags & O_TRUNC) g_model->truncated(id, 0);
  fi->fh = reinterpret_cast<uint64_t>(new Handle{fd, id, false, path});
  return 0;
}

std::string status_text() {
  const auto& c = g_model->counters();
  return "power " + std::string(g_off ? "off" : "on") + "\nfile_syncs " + std::to_string(c.file_syncs) +
         "\ndir_syncs " + std::to_string(c.dir_syncs) + "\nbytes_synced " + std::to_string(c.bytes_synced) +
         "\nunsynced_bytes " + std::to_string(g_model->unsynced_bytes()) + "\n";
}

int op_read(const char*, char* buf, size_t size, off_t off, fuse_file_info* fi) {
  std::lock_guard lock(g_mu);
  if (handle(fi)->ctl) {
    const std::string s = status_text();
    if (off >= static_cast<off_t>(s.size())) return 0;
    const size_t n = std::min(size, s.size() - static_cast<size_t>(off));
    std::memcpy(buf, s.data() + off, n);
    return static_cast<int>(n);
  }
  if (g_off) return -EIO;
  const ssize_t n = ::pread(handle(fi)->fd, buf, size, off);
  return n < 0 ? neg_errno() : static_cast<int>(n);
}

int control(const char* buf, size_t size) {
  std::string cmd(buf, size);
  while (!cmd.empty() && (cmd.back() == '\n' || cmd.back() == ' ')) cmd.pop_back();
  const std::string fail_cmd = "fail-next-fsync ";
  if (cmd.rfind(fail_cmd, 0) == 0 && cmd.size() > fail_cmd.size()) {
    g_fail_next_fsync = cmd.substr(fail_cmd.size());
    std::fprintf(stderr, "lazyfs: the next fsync of a file ending in '%s' fails\n",
                 g_fail_next_fsync.c_str());
    return static_cast<int>(size);
  }
  if (cmd != "crash") {
    std::fprintf(stderr, "lazyfs: unknown control command '%s' (known: crash, fail-next-fsync SUFFIX)\n",
                 cmd.c_str());
    return -EINVAL;
  }
  if (g_off) return -EIO;
  try {
    g_model->power_cut();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lazyfs: power cut failed: %s\n", e.what());
    return -EIO;
  }
  g_off = true;
  std::fprintf(stderr, "lazyfs: power cut: '%s' now holds only what was made durable\n", g_backing.c_str());
  return static_cast<int>(size);
}

int op_write(const char*, const char* buf, size_t size, off_t off, fuse_file_info* fi) {
  std::lock_guard lock(g_mu);
  if (handle(fi)->ctl) return control(buf, size);
  if (g_off) return -EIO;
  const ssize_t n = ::pwrite(handle(fi)->fd, buf, size, off);
  if (n < 0) return neg_errno();
  g_model->wrote(handle(fi)->id, off, n);
  return static_cast<int>(n);
}

int op_fsync(const char*, int, fuse_file_info* fi) {
  LAZYFS_GUARD();
  if (handle(fi)->ctl) return 0;
  // The name it was opened by: a later rename does not matter here.
  const std::string& p = handle(fi)->path;
  if (take_failing_fsync(p)) {
    g_model->fail_sync(handle(fi)->id);
    std::fprintf(stderr,
                 "lazyfs: fsync of '%s' failed as asked (EIO); its unsynced data will never be durable\n",
                 p.c_str());
    return -EIO;
  }
  return -g_model->sync_file(handle(fi)->id, handle(fi)->fd);
}

int op_truncate(const char* path, off_t size, fuse_file_info* fi) {
  std::lock_guard lock(g_mu);
  if (is_ctl(path) || (fi && handle(fi)->ctl)) return 0;  // `echo crash >` truncates first
  if (g_off) return -EIO;
  int fd = fi ? handle(fi)->fd : ::openat(g_root, rel(path), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return neg_errno();
  int rc = ::ftruncate(fd, size) == 0 ? 0 : neg_errno();
  if (rc == 0) {
    struct stat st;
    ::fstat(fd, &st);
    g_model->truncated(fi ? handle(fi)->id : g_model->id_of(st.st_ino), size);
  }
  if (!fi) ::close(fd);
  return rc;
}

int op_fallocate(const char*, int mode, off_t off, off_t len, fuse_file_info* fi) {
  LAZYFS_GUARD();
  if (::fallocate(handle(fi)->fd, mode, off, len) != 0) return neg_errno();
  g_model->wrote(handle(fi)->id, off, len);  // zeroed or allocated bytes are changed bytes
  return 0;
}

int op_utimens(const char* path, const timespec tv[2], fuse_file_info* fi) {
  LAZYFS_GUARD();
  const int rc =
      fi ? ::futimens(handle(fi)->fd, tv) : ::utimensat(g_root, rel(path), tv, AT_SYMLINK_NOFOLLOW);
  return rc == 0 ? 0 : neg_errno();
}

int op_chmod(const char* path, mode_t mode, fuse_file_info* fi) {
  LAZYFS_GUARD();
  const int rc = fi ? ::fchmod(handle(fi)->fd, mode) : ::fchmodat(g_root, rel(path), mode, 0);
  return rc == 0 ? 0 : neg_errno();
}

int op_statfs(const char*, struct statvfs* st) {
  LAZYFS_GUARD();
  return ::fstatvfs(g_root, st) == 0 ? 0 : neg_errno();
}

void* op_init(fuse_conn_info* conn, fuse_config* cfg) {
  cfg->use_ino = 1;
  cfg->hard_remove = 1;
  cfg->nullpath_ok = 1;
  cfg->direct_io = 0;
  cfg->kernel_cache = 0;
  cfg->negative_timeout = 0;
  conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
  return nullptr;
}

fuse_operations make_ops() {
  fuse_operations ops = {};
  ops.init = op_init;
  ops.getattr = op_getattr;
  ops.opendir = op_opendir;
  ops.readdir = op_readdir;
  ops.releasedir = op_release;
  ops.fsyncdir = op_fsyncdir;
  ops.mkdir = op_mkdir;
  ops.unlink = op_unlink;
  ops.rmdir = op_rmdir;
  ops.rename = op_rename;
  ops.create = op_create;
  ops.open = op_open;
  ops.read = op_read;
  ops.write = op_write;
  ops.release = op_release;
  ops.fsync = op_fsync;
  ops.truncate = op_truncate;
  ops.fallocate = op_fallocate;
  ops.utimens = op_utimens;
  ops.chmod = op_chmod;
  ops.statfs = op_statfs;
  return ops;
}

int usage(const char* argv0) {
  std::fprintf(stderr, "usage: %s [--metadata=posix|journal] <backing-dir> <mountpoint> [FUSE options]\n",
               argv0);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  int i = 1;
  for (; i < argc && std::strncmp(argv[i], "--metadata=", 11) == 0; ++i) {
    const std::string m = argv[i] + 11;
    if (m == "posix") {
      g_metadata = lazyfs::MetadataModel::posix;
    } else if (m == "journal") {
      g_metadata = lazyfs::MetadataModel::journal;
    } else {
      return usage(argv[0]);
    }
  }
  if (argc - i < 2) return usage(argv[0]);
  char resolved[PATH_MAX];
  if (!::realpath(argv[i], resolved)) {
    std::fprintf(stderr, "lazyfs: backing directory '%s': %s\n", argv[i], std::strerror(errno));
    return 1;
  }
  g_backing = resolved;
  // Durable file data lives next to the backing directory, outside the mount.
  std::string tmpl = std::filesystem::path(g_backing).parent_path().string() + "/.lazyfs-state.XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (!::mkdtemp(buf.data())) {
    std::fprintf(stderr, "lazyfs: cannot create state directory '%s': %s\n", tmpl.c_str(),
                 std::strerror(errno));
    return 1;
  }
  g_state_dir = buf.data();
  int rc = 1;
  try {
    g_root = ::open(g_backing.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    g_model = std::make_unique<DurabilityModel>(g_backing, g_state_dir, g_metadata);
    std::vector<char*> fuse_argv{argv[0]};
    for (int j = i + 1; j < argc; ++j) fuse_argv.push_back(argv[j]);
    fuse_argv.push_back(const_cast<char*>("-o"));
    fuse_argv.push_back(const_cast<char*>("fsname=lazyfs,subtype=lazyfs"));
    const fuse_operations ops = make_ops();
    rc = fuse_main(static_cast<int>(fuse_argv.size()), fuse_argv.data(), &ops, nullptr);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lazyfs: %s\n", e.what());
  }
  g_model.reset();
  std::error_code ec;
  std::filesystem::remove_all(g_state_dir, ec);
  return rc;
}
