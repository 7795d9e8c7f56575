// The bytes of one request frame, left uninitialised: the socket read
// overwrites them at once, and zero-filling a 1 MiB produce request first
// cost as much CPU as checking its CRC. It also means that pages of a large
// frame are committed only as bytes arrive, so a client announcing a large
// request and sending little costs address space, not memory.
//
// An array, not a vector with a no-op construct(): the vector still walks
// its elements to construct and destroy them. The ASan build spent seconds
// per announced 100 MiB frame in those walks (gdb), and
// kafka_bad_input_test's announced_sizes_do_not_commit_memory timed out
// under it; the -O2 build passed that test, so its compiler likely dropped
// the empty loops (not profiled).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace keel::kafka {

class Frame {
 public:
  explicit Frame(size_t size) : bytes_(std::make_unique_for_overwrite<uint8_t[]>(size)), size_(size) {}

  uint8_t* data() { return bytes_.get(); }
  const uint8_t* data() const { return bytes_.get(); }
  size_t size() const { return size_; }

 private:
  std::unique_ptr<uint8_t[]> bytes_;
  size_t size_;
};

}  // namespace keel::kafka
