// Producer ids for idempotent producers, handed out by the kernel in durable
// blocks: the end of the current block is written to `<data_dir>/producer-ids`
// (and synced) before any id of it is handed out, and a start goes on from
// the stored end. An id is therefore never handed out twice, whatever crash
// or clock step happens: at worst the rest of a block is skipped.
//
// Threads: allocate() may be called from any thread; it blocks while a new
// block is written (once per kBlockSize ids).
#pragma once

#include <cstdint>
#include <mutex>
#include <string>

#include "common/clock.hpp"

namespace keel {

class ProducerIds {
 public:
  static constexpr int64_t kBlockSize = 1000;

  // Reads the stored block end from `path`, if any. Ids start at least at
  // `floor` (one past the highest id found in the logs). `clock` is read
  // once, only when there is no file yet (see legacy_ceiling in the .cpp).
  // Throws keel::Error when the file exists but cannot be read or is
  // damaged.
  ProducerIds(std::string path, int64_t floor, const Clock& clock);

  // A producer id never handed out before. Throws keel::Error (IO, NO_SPACE)
  // when a new block cannot be made durable; no id is handed out then.
  int64_t allocate();

  // Ids from here on may be handed out (for tests and logs).
  int64_t next() const;

 private:
  const std::string path_;
  mutable std::mutex mu_;
  int64_t next_ = 0;       // guarded by mu_
  int64_t block_end_ = 0;  // guarded by mu_: stored on disk; next_ <= block_end_
};

}  // namespace keel
