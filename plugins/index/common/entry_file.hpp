// A file of fixed-size index entries, mapped MAP_SHARED so that appends are
// plain stores and lookups read the page cache directly. The file may be
// longer than the entries in use (room to grow); the owning index tracks how
// many slots are used. Not thread-safe: the owner serialises access.
//
// The mapping never covers a hole. A store into a page that has no disk
// block behind it must allocate one, and on a full disk (or, on tmpfs, even a
// load from such a page) that raises SIGBUS instead of returning an error.
// So the file grows with posix_fallocate, never with a sparse ftruncate: a
// full disk then shows up as a KEEL_ERR_NO_SPACE error from the call that
// grows it, and what is mapped is backed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace keel::index {

class EntryFile {
 public:
  // Opens `path`, creating it when missing, and maps the part of it that
  // holds data: a tail shorter than one entry (a write torn by a crash) and
  // everything from the first hole on (which reads as zeros, the end mark)
  // stay unmapped until reshape() cuts them off. Throws sdk::Error on I/O
  // errors.
  EntryFile(std::string path, size_t entry_size);
  ~EntryFile();
  EntryFile(const EntryFile&) = delete;
  EntryFile& operator=(const EntryFile&) = delete;

  const std::string& path() const { return path_; }
  bool created() const { return created_; }
  size_t stray_bytes_cut() const { return stray_bytes_cut_; }
  size_t entry_size() const { return entry_size_; }
  size_t slots() const { return mapped_ / entry_size_; }
  // An all-zero slot ends the entries in every built-in layout.
  bool blank(size_t i) const;

  const uint8_t* slot(size_t i) const { return data_ + i * entry_size_; }
  uint8_t* slot(size_t i) { return data_ + i * entry_size_; }

  // Keeps the first `used` slots, drops whatever followed them and makes the
  // file `capacity` slots long (capacity >= used). When the growth cannot be
  // backed (KEEL_ERR_NO_SPACE), the file is left at `used` slots.
  void reshape(size_t used, size_t capacity);
  // Grows the file so that at least `needed` slots exist: by doubling, by at
  // most `max_step` slots at a time, to at least `first` slots; on a disk too
  // full for that, by exactly what is needed. Throws KEEL_ERR_NO_SPACE when
  // even that does not fit; the file is then unchanged.
  void reserve(size_t needed, size_t first, size_t max_step);
  // Zeroes slots [from, to), which must be mapped: they are backed, so this
  // needs no disk space.
  void clear(size_t from, size_t to);
  // Writes the first `used` slots and the file size to disk.
  void sync(size_t used);
  // Unmaps, closes and deletes the file; the object is then empty.
  void remove();

 private:
  // Cuts the file to `bytes` (<= its length) and maps all of it.
  void shrink(size_t bytes);
  // Backs bytes [length_, bytes) with disk blocks, then maps all of it.
  void grow(size_t bytes);
  void map(size_t bytes);
  void unmap();

  std::string path_;
  size_t entry_size_;
  int fd_ = -1;
  uint8_t* data_ = nullptr;
  size_t mapped_ = 0;
  size_t length_ = 0;  // the file's size; >= mapped_ only between open and reshape
  bool created_ = false;
  size_t stray_bytes_cut_ = 0;
};

}  // namespace keel::index
