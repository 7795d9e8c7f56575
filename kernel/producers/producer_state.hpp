// One partition's idempotent producer state (Kafka's ProducerStateManager,
// Redpanda's rm_stm): for each producer id, its epoch and the sequence and
// offset ranges of its last five batches, so that a retried batch is
// answered with its original offsets instead of being stored twice, a gap in
// sequences is refused, and a fenced epoch is refused.
//
// Threads: owned by its PartitionLog. Every call is made under the log's
// append lock (or in open(), before the log is shared), so the check and the
// append it allows are one step. Not thread-safe by itself.
#pragma once

#include <cstdint>
#include <deque>
#include <keel/record_batch.hpp>
#include <map>
#include <string>

#include "producers/batch_identity.hpp"

namespace keel {

class ProducerState {
 public:
  // Batches remembered per producer: Kafka's (and librdkafka's) limit of
  // in-flight requests per connection with idempotence.
  static constexpr size_t kBatchesPerProducer = 5;

  struct BatchRecord {
    int32_t first_seq = 0;
    int32_t last_seq = 0;
    int64_t first_offset = 0;
    int64_t last_offset = 0;
  };
  struct Producer {
    int16_t epoch = 0;
    // Newest record timestamp of its newest batch; expiry measures from it,
    // as Kafka does, so that replaying the log yields the same state.
    int64_t last_timestamp = -1;
    std::deque<BatchRecord> batches;  // oldest first, at most kBatchesPerProducer
  };
  using Producers = std::map<int64_t, Producer>;

  enum class Verdict {
    kAppend,           // new and in sequence: append it, then record()
    kDuplicate,        // a retry of a batch in the log: answer with `original`
    kOutOfOrder,       // a sequence gap: refuse
    kFenced,           // an epoch older than the producer's: refuse
    kUnknownProducer,  // no state for the id and a sequence other than 0
  };
  struct Check {
    Verdict verdict = Verdict::kAppend;
    BatchRecord original;  // for kDuplicate
    std::string why;       // for refusals: what was expected
  };

  // What appending a batch of `id` would mean (id.idempotent()).
  Check check(const BatchIdentity& id) const;
  // Records a batch of `id` appended at [first_offset, last_offset].
  void record(const BatchIdentity& id, int64_t first_offset, int64_t last_offset);
  // Records a batch found in the log (recovery). The log is the truth: a
  // batch is taken as stored, in sequence or not.
  void replay(const batch::Header& h);
  // Forgets producers whose newest batch is `expiration_ms` or more older
  // than `now_ms` (Kafka's producer.id.expiration.ms). Returns how many.
  size_t expire(int64_t now_ms, int64_t expiration_ms);

  const Producers& producers() const { return producers_; }
  void restore(Producers producers) { producers_ = std::move(producers); }
  // The highest producer id seen, -1 if none.
  int64_t max_producer_id() const { return producers_.empty() ? -1 : producers_.rbegin()->first; }

 private:
  Producers producers_;
};

}  // namespace keel
