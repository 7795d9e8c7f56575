// A file of fixed-size index entries, mapped MAP_SHARED so that appends are
// plain stores and lookups read the page cache directly. The file may be
// longer than the entries in use (preallocation); the owning index tracks how
// many slots are used. Not thread-safe: the owner serialises access.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace keel::index {

class EntryFile {
 public:
  // Opens `path`, creating it when missing. A tail shorter than one entry
  // (a write torn by a crash) is cut off. Throws sdk::Error on I/O errors.
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

  // Keeps the first `used` slots, zeroes whatever followed them and makes
  // the file `capacity` slots long (capacity >= used).
  void reshape(size_t used, size_t capacity);
  // Grows the file (doubling) so that at least `needed` slots exist.
  void reserve(size_t needed);
  // Writes the first `used` slots and the file size to disk.
  void sync(size_t used);
  // Unmaps, closes and deletes the file; the object is then empty.
  void remove();

 private:
  void set_length(size_t bytes);
  void map(size_t bytes);
  void unmap();

  std::string path_;
  size_t entry_size_;
  int fd_ = -1;
  uint8_t* data_ = nullptr;
  size_t mapped_ = 0;
  bool created_ = false;
  size_t stray_bytes_cut_ = 0;
};

}  // namespace keel::index
