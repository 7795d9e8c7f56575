// The bytes of a batch as the log's append takes them, and the bytes a read
// points at, for tests that append built batches and read them back.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <string>

#include "storage/partition_log.hpp"

namespace keel::test {

inline const uint8_t* bytes(const std::string& s) { return reinterpret_cast<const uint8_t*>(s.data()); }

// The stored bytes a read found, copied out of its segment file ("" when it
// found none).
inline std::string read_bytes(const keel::ReadResult& r) {
  if (!r.segment) return "";
  std::string out(static_cast<size_t>(r.length), '\0');
  EXPECT_EQ(::pread(r.segment->fd(), out.data(), out.size(), r.position), r.length);
  return out;
}

}  // namespace keel::test
