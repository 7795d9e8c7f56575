// Reads decoded records of one partition from an offset, whatever codec the
// stored batches use, across segments, within a record and byte budget.
#pragma once

#include <keel/plugin.h>

#include <cstdint>
#include <keel/record_batch.hpp>
#include <string>
#include <vector>

namespace keel::web {

class CheckedBroker;

struct ReadResult {
  std::vector<batch::Record> records;
  int64_t next_offset = 0;  // where the next read continues
  keel_watermarks watermarks{};
};

// Records at offsets >= `offset` (a stored batch may start earlier; its
// earlier records are skipped) and below the high watermark. Control batches
// (transaction markers) are skipped. At least one batch is read even if it
// exceeds max_bytes, so a large record never blocks a reader.
ReadResult read_records(const CheckedBroker& broker, const std::string& topic, int32_t partition,
                        int64_t offset, size_t max_records, int64_t max_bytes);

}  // namespace keel::web
