#include "durability_model.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <vector>

namespace lazyfs {

namespace fs = std::filesystem;

namespace {

std::runtime_error sys_error(const std::string& what) {
  return std::runtime_error(what + ": " + std::strerror(errno));
}

// Copies [begin, end) of `from` to the same place in `to`. Returns 0 or an errno.
int copy_bytes(int from, int to, off_t begin, off_t end, uint64_t& copied) {
  std::vector<char> buf(1 << 20);
  while (begin < end) {
    const size_t want = static_cast<size_t>(std::min<off_t>(end - begin, static_cast<off_t>(buf.size())));
    const ssize_t n = ::pread(from, buf.data(), want, begin);
    if (n < 0) return errno;
    if (n == 0) break;  // the live file is shorter: the final ftruncate zero-fills
    for (ssize_t done = 0; done < n;) {
      const ssize_t w = ::pwrite(to, buf.data() + done, static_cast<size_t>(n - done), begin + done);
      if (w < 0) return errno;
      done += w;
    }
    begin += n;
    copied += static_cast<uint64_t>(n);
  }
  return 0;
}

// Copies the whole of `from` to `to` (which must be empty), skipping holes:
// index files are large sparse files, and copying their zeros would make
// each mount and power cut cost gigabytes. Returns 0 or an errno.
int copy_file_sparse(int from, int to, uint64_t& copied) {
  struct stat st;
  if (::fstat(from, &st) != 0) return errno;
  off_t pos = 0;
  while (pos < st.st_size) {
    const off_t data = ::lseek(from, pos, SEEK_DATA);
    if (data < 0) {
      if (errno == ENXIO) break;  // only a hole is left
      return errno;
    }
    off_t hole = ::lseek(from, data, SEEK_HOLE);
    if (hole < 0) hole = st.st_size;
    if (const int err = copy_bytes(from, to, data, hole, copied); err != 0) return err;
    pos = hole;
  }
  return ::ftruncate(to, st.st_size) == 0 ? 0 : errno;
}

}  // namespace

DurabilityModel::DurabilityModel(const std::string& backing, const std::string& state_dir,
                                 MetadataModel model)
    : backing_(backing), state_dir_(state_dir), model_(model) {
  root_fd_ = ::open(backing.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root_fd_ < 0) throw sys_error("cannot open backing directory '" + backing + "'");
  state_fd_ = ::open(state_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (state_fd_ < 0) throw sys_error("cannot open state directory '" + state_dir + "'");
  struct stat st;
  if (::fstat(root_fd_, &st) != 0) throw sys_error("cannot stat '" + backing + "'");
  root_id_ = id_of(st.st_ino);
  snapshot_tree(root_fd_, root_id_, true);
}

DurabilityModel::~DurabilityModel() {
  if (root_fd_ >= 0) ::close(root_fd_);
  if (state_fd_ >= 0) ::close(state_fd_);
}

uint64_t DurabilityModel::id_of(ino_t ino) {
  auto [it, inserted] = ids_.try_emplace(ino, next_id_);
  if (inserted) ++next_id_;
  return it->second;
}

uint64_t DurabilityModel::created(ino_t ino) {
  const uint64_t id = next_id_++;
  ids_[ino] = id;
  changes_.erase(id);
  names_dirty_ = true;
  return id;
}

void DurabilityModel::wrote(uint64_t id, off_t offset, off_t length) {
  changes_[id].dirty.add(offset, offset + length);
}

void DurabilityModel::truncated(uint64_t id, off_t size) {
  FileChanges& c = changes_[id];
  c.dirty.clip(size);
  c.floor = c.floor < 0 ? size : std::min(c.floor, size);
}

DurabilityModel::Listing DurabilityModel::list_live(int dir_fd) {
  const int fd = ::dup(dir_fd);
  if (fd < 0) throw sys_error("dup of a directory descriptor");
  DIR* d = ::fdopendir(fd);
  if (!d) {
    ::close(fd);
    throw sys_error("fdopendir");
  }
  ::rewinddir(d);
  Listing out;
  while (struct dirent* e = ::readdir(d)) {
    if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
    struct stat st;
    if (::fstatat(dir_fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) continue;  // not modelled
    out[e->d_name] = Entry{id_of(st.st_ino), S_ISDIR(st.st_mode)};
  }
  ::closedir(d);
  return out;
}

void DurabilityModel::snapshot_tree(int dir_fd, uint64_t id, bool copy_data) {
  Listing listing = list_live(dir_fd);
  for (const auto& [name, e] : listing) {
    const int fd = ::openat(dir_fd, name.c_str(), (e.dir ? O_DIRECTORY : 0) | O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw sys_error("cannot open '" + name + "' under '" + backing_ + "'");
    if (e.dir) {
      snapshot_tree(fd, e.id, copy_data);
    } else if (copy_data) {
      const int err = copy_ranges(e.id, fd, true);
      if (err != 0) {
        ::close(fd);
        errno = err;
        throw sys_error("cannot copy '" + name + "' into the state directory");
      }
    }
    ::close(fd);
  }
  durable_dirs_[id] = std::move(listing);
}

int DurabilityModel::copy_ranges(uint64_t id, int live_fd, bool whole_file) {
  const std::string name = std::to_string(id);
  const int obj = ::openat(state_fd_, name.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (obj < 0) return errno;
  struct stat live, durable;
  int err = 0;
  if (::fstat(live_fd, &live) != 0 || ::fstat(obj, &durable) != 0) err = errno;
  FileChanges& c = changes_[id];
  if (err == 0 && whole_file) {
    if (::ftruncate(obj, 0) != 0) err = errno;
    if (err == 0) err = copy_file_sparse(live_fd, obj, counters_.bytes_synced);
  } else if (err == 0) {
    if (c.floor >= 0 && c.floor < durable.st_size && ::ftruncate(obj, c.floor) != 0) err = errno;
    for (const auto& [begin, end] : c.dirty.ranges()) {
      if (err == 0)
        err = copy_bytes(live_fd, obj, begin, std::min(end, live.st_size), counters_.bytes_synced);
    }
  }
  if (err == 0 && ::ftruncate(obj, live.st_size) != 0) err = errno;
  ::close(obj);
  if (err == 0) {
    changes_.erase(id);
    durable_files_.insert(id);
  }
  return err;
}

int DurabilityModel::sync_file(uint64_t id, int live_fd) {
  ++counters_.file_syncs;
  try {
    if (model_ == MetadataModel::journal && names_dirty_) {
      snapshot_tree(root_fd_, root_id_, false);
      names_dirty_ = false;
    }
  } catch (const std::exception&) {
    return EIO;
  }
  return copy_ranges(id, live_fd, false);
}

int DurabilityModel::sync_dir(uint64_t id, int live_fd) {
  ++counters_.dir_syncs;
  try {
    if (model_ == MetadataModel::journal) {
      if (names_dirty_) snapshot_tree(root_fd_, root_id_, false);
      names_dirty_ = false;
    } else {
      durable_dirs_[id] = list_live(live_fd);
    }
  } catch (const std::exception&) {
    return EIO;
  }
  return 0;
}

off_t DurabilityModel::unsynced_bytes() const {
  off_t n = 0;
  for (const auto& [id, c] : changes_) n += c.dirty.bytes();
  return n;
}

void DurabilityModel::power_cut() {
  for (const auto& e : fs::directory_iterator(backing_)) fs::remove_all(e.path());
  std::set<uint64_t> dirs_done;
  std::map<uint64_t, std::string> files_done;
  materialize(root_id_, backing_, dirs_done, files_done);
}

void DurabilityModel::materialize(uint64_t dir_id, const std::string& path, std::set<uint64_t>& dirs_done,
                                  std::map<uint64_t, std::string>& files_done) {
  dirs_done.insert(dir_id);
  auto it = durable_dirs_.find(dir_id);
  if (it == durable_dirs_.end()) return;  // created, named durably, never synced itself: empty
  for (const auto& [name, e] : it->second) {
    const std::string p = path + "/" + name;
    if (e.dir) {
      // A directory renamed between two directories that were synced at
      // different times can be named twice: keep the first name, as fsck
      // would keep one.
      if (dirs_done.count(e.id)) continue;
      fs::create_directory(p);
      materialize(e.id, p, dirs_done, files_done);
    } else if (auto done = files_done.find(e.id); done != files_done.end()) {
      fs::create_hard_link(done->second, p);
    } else {
      const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
      if (fd < 0) throw sys_error("cannot create '" + p + "'");
      int err = 0;
      if (durable_files_.count(e.id)) {
        const int obj = ::openat(state_fd_, std::to_string(e.id).c_str(), O_RDONLY | O_CLOEXEC);
        uint64_t copied = 0;
        err = obj < 0 ? errno : copy_file_sparse(obj, fd, copied);
        if (obj >= 0) ::close(obj);
      }
      ::close(fd);
      if (err != 0) {
        errno = err;
        throw sys_error("cannot restore '" + p + "' from the durable state");
      }
      files_done[e.id] = p;
    }
  }
}

}  // namespace lazyfs
