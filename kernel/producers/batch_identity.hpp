// Who wrote a produce request, as far as idempotence goes: the producer id,
// epoch and sequence range its batches carry in their headers (KIP-98).
#pragma once

#include <cstdint>
#include <keel/record_batch.hpp>
#include <limits>
#include <string>
#include <vector>

namespace keel {

// Sequences wrap from INT32_MAX to 0, as in Kafka.
inline int32_t add_sequence(int32_t seq, int64_t delta) {
  constexpr int64_t kSpan = static_cast<int64_t>(std::numeric_limits<int32_t>::max()) + 1;
  int64_t s = (static_cast<int64_t>(seq) + delta) % kSpan;
  if (s < 0) s += kSpan;
  return static_cast<int32_t>(s);
}

// Whether a batch takes part in idempotence: a producer id and a sequence,
// and not a control batch (transaction markers carry no sequence).
inline bool idempotent_batch(const batch::Header& h) {
  return h.producer_id >= 0 && !h.control() && h.base_sequence >= 0;
}

struct BatchIdentity {
  int64_t producer_id = -1;  // -1: not idempotent, no checks
  int16_t epoch = -1;
  int32_t first_seq = -1;
  int32_t last_seq = -1;
  int64_t max_timestamp = -1;  // newest record timestamp of the batches

  bool idempotent() const { return producer_id >= 0; }
};

// The identity of a produce request's batches (already validated). All
// batches must be idempotent or none, and an idempotent request carries
// exactly one batch (as in Kafka). Returns false with `why` set otherwise
// (nothing is written then).
bool identity_of(const std::vector<batch::Header>& headers, BatchIdentity* out, std::string* why);

}  // namespace keel
