#include "common/entry_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <keel/plugin.hpp>

namespace keel::index {
namespace {

[[noreturn]] void fail_errno(int err, const std::string& what, const std::string& path) {
  const bool full = err == ENOSPC || err == EDQUOT;
  throw sdk::Error(full ? KEEL_ERR_NO_SPACE : KEEL_ERR_IO,
                   what + " of index file '" + path + "' failed: " + std::strerror(err) +
                       (full ? "; free space on its file system or lower retention"
                             : "; check the data directory's permissions and disk"));
}

// Where the data at the start of the file ends: its first hole, or its
// size where the file system cannot tell.
size_t data_end(int fd, size_t size) {
  const off_t hole = ::lseek(fd, 0, SEEK_HOLE);
  return hole < 0 ? size : std::min(size, static_cast<size_t>(hole));
}

}  // namespace

EntryFile::EntryFile(std::string path, size_t entry_size) : path_(std::move(path)), entry_size_(entry_size) {
  fd_ = ::open(path_.c_str(), O_RDWR | O_CLOEXEC);
  if (fd_ < 0 && errno == ENOENT) {
    fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    created_ = true;
  }
  if (fd_ < 0) fail_errno(errno, "open", path_);
  try {
    struct stat st {};
    if (::fstat(fd_, &st) != 0) fail_errno(errno, "stat", path_);
    length_ = static_cast<size_t>(st.st_size);
    stray_bytes_cut_ = length_ % entry_size_;
    map(data_end(fd_, length_) / entry_size_ * entry_size_);
  } catch (...) {
    ::close(fd_);
    throw;
  }
}

EntryFile::~EntryFile() {
  unmap();
  if (fd_ >= 0) ::close(fd_);
}

bool EntryFile::blank(size_t i) const {
  const uint8_t* p = slot(i);
  return std::all_of(p, p + entry_size_, [](uint8_t b) { return b == 0; });
}

void EntryFile::reshape(size_t used, size_t capacity) {
  // Cutting to `used` first drops every later slot, whatever garbage or
  // holes it held; growing then backs zeroed blocks.
  if (length_ != used * entry_size_) shrink(used * entry_size_);
  if (capacity > used) grow(capacity * entry_size_);
}

void EntryFile::reserve(size_t needed, size_t first, size_t max_step) {
  const size_t have = slots();
  if (needed <= have) return;
  const size_t ample = std::max({needed, first, have + std::min(have, std::max<size_t>(max_step, 1))});
  try {
    grow(ample * entry_size_);
  } catch (const sdk::Error& e) {
    if (e.code() != KEEL_ERR_NO_SPACE || ample == needed) throw;
    grow(needed * entry_size_);
  }
}

void EntryFile::clear(size_t from, size_t to) {
  if (to > from) std::memset(slot(from), 0, (to - from) * entry_size_);
}

void EntryFile::sync(size_t used) {
  if (fd_ < 0) return;
  const size_t bytes = std::min(used * entry_size_, mapped_);
  if (bytes > 0 && ::msync(data_, bytes, MS_SYNC) != 0) fail_errno(errno, "msync", path_);
  if (::fdatasync(fd_) != 0) fail_errno(errno, "fdatasync", path_);
}

void EntryFile::remove() {
  unmap();
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (::unlink(path_.c_str()) != 0 && errno != ENOENT) fail_errno(errno, "delete", path_);
}

void EntryFile::shrink(size_t bytes) {
  unmap();
  if (::ftruncate(fd_, static_cast<off_t>(bytes)) != 0) {
    const int err = errno;
    // Stay usable: what is mapped below the old length is still backed.
    try {
      map(std::min(bytes, data_end(fd_, length_) / entry_size_ * entry_size_));
    } catch (...) {
    }
    fail_errno(err, "cut to " + std::to_string(bytes) + " bytes", path_);
  }
  length_ = bytes;
  map(bytes);
}

void EntryFile::grow(size_t bytes) {
  // Allocate before touching the mapping: a refusal leaves it as it was.
  const int err = ::posix_fallocate(fd_, static_cast<off_t>(length_), static_cast<off_t>(bytes - length_));
  if (err != 0) {
    // Give back whatever part was allocated before the refusal. Should that
    // fail, the file keeps a longer tail that is not mapped, which the next
    // open cuts.
    const int cut = ::ftruncate(fd_, static_cast<off_t>(length_));
    (void)cut;
    fail_errno(err,
               "growing from " + std::to_string(length_) + " to " + std::to_string(bytes) + " bytes (" +
                   std::to_string(bytes - length_) + " more)",
               path_);
  }
  length_ = bytes;
  unmap();
  map(bytes);
}

void EntryFile::map(size_t bytes) {
  if (bytes == 0) return;  // mmap refuses empty mappings
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
  if (p == MAP_FAILED) fail_errno(errno, "mmap of " + std::to_string(bytes) + " bytes", path_);
  data_ = static_cast<uint8_t*>(p);
  mapped_ = bytes;
}

void EntryFile::unmap() {
  if (data_ != nullptr) ::munmap(data_, mapped_);
  data_ = nullptr;
  mapped_ = 0;
}

}  // namespace keel::index
