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
                       (full ? "; free disk space (the index is rebuilt from the log if deleted)"
                             : "; check the data directory's permissions and disk"));
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
    const auto size = static_cast<size_t>(st.st_size);
    stray_bytes_cut_ = size % entry_size_;
    if (stray_bytes_cut_ != 0) {
      set_length(size - stray_bytes_cut_);
    } else {
      map(size);
    }
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
  // Cutting to `used` first turns every later slot into a hole that reads
  // as zeros, whatever garbage it held.
  if (mapped_ != used * entry_size_) set_length(used * entry_size_);
  if (capacity > used) set_length(capacity * entry_size_);
}

void EntryFile::reserve(size_t needed) {
  if (needed <= slots()) return;
  set_length(std::max({needed, slots() * 2, size_t{64}}) * entry_size_);
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

void EntryFile::set_length(size_t bytes) {
  unmap();
  if (::ftruncate(fd_, static_cast<off_t>(bytes)) != 0) {
    const int err = errno;
    // Stay usable at the old length so the index keeps serving lookups.
    struct stat st {};
    if (::fstat(fd_, &st) == 0) {
      try {
        map(static_cast<size_t>(st.st_size) / entry_size_ * entry_size_);
      } catch (...) {
      }
    }
    fail_errno(err, "resize to " + std::to_string(bytes) + " bytes", path_);
  }
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
