// What the shared index code needs to know about a plugin's entries: their
// size and file name, and the two checks that look inside an entry when an
// index file is opened.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace keel::index {

struct EntryLayout {
  const char* name;    // the strategy's, for messages
  const char* suffix;  // the file is `<path prefix><suffix>`
  size_t entry_size;
  // The log position `entry` points at.
  int64_t (*position)(const uint8_t* entry);
  // Why `entry` cannot follow `prev` (nullptr: cannot be the first entry);
  // empty when it can.
  std::string (*out_of_order)(const uint8_t* prev, const uint8_t* entry);
};

}  // namespace keel::index
