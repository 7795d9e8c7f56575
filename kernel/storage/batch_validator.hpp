// Produce-time checks of a RecordBatch v2's contents: what Kafka's broker
// (LogValidator, and DefaultRecordBatch/DefaultRecord as it reads them)
// refuses from a client, so that no batch a consumer cannot read, or whose
// offsets disagree with its records, is ever stored.
//
// The batch's framing and CRC have passed batch::validate before; this walks
// its records in place (decompressing compressed ones into a buffer kept per
// thread) and allocates nothing for a valid batch once that buffer has grown.
// Threads: any; the only state is the thread_local buffer.
#pragma once

#include <keel/plugin.h>

#include <cstddef>
#include <cstdint>
#include <keel/codec.hpp>
#include <keel/record_batch.hpp>
#include <string>

namespace keel {

struct BatchRules {
  // The topic is compacted: every record needs a key.
  bool requires_keys = false;
  // Decompression bomb guard, as for every other decompression.
  size_t max_decompressed = codec::kDefaultMaxDecompressedSize;
};

// What is wrong with a batch. status is KEEL_ERR_CORRUPT when the records
// section does not decompress (Kafka: CORRUPT_MESSAGE) and
// KEEL_ERR_INVALID_ARGUMENT when the batch or a record is malformed or not
// allowed from a client (Kafka: INVALID_RECORD).
struct BatchProblem {
  keel_status status = KEEL_OK;
  int32_t record = -1;  // index of the record at fault; -1 for the batch as a whole
  std::string what;
  bool ok() const { return status == KEEL_OK; }
};

// Checks the batch at `data`, whose header is `h` and whose h.total_size()
// bytes passed batch::validate.
BatchProblem check_produced_batch(const batch::Header& h, const uint8_t* data, const BatchRules& rules);

}  // namespace keel
