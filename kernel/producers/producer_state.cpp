#include "producers/producer_state.hpp"

#include <algorithm>

namespace keel {
namespace {

int32_t last_sequence(const ProducerState::Producer& p) {
  return p.batches.empty() ? -1 : p.batches.back().last_seq;
}

}  // namespace

ProducerState::Check ProducerState::check(const BatchIdentity& id) const {
  Check c;
  auto it = producers_.find(id.producer_id);
  if (it == producers_.end()) {
    if (id.first_seq != 0) {
      c.verdict = Verdict::kUnknownProducer;
      c.why =
          "the partition has no state for this producer (it expired or was never here) and the batch "
          "starts at sequence " +
          std::to_string(id.first_seq) + ", not 0";
    }
    return c;
  }
  const Producer& p = it->second;
  if (id.epoch < p.epoch) {
    c.verdict = Verdict::kFenced;
    c.why = "epoch " + std::to_string(id.epoch) + " is fenced: a newer producer with epoch " +
            std::to_string(p.epoch) + " has written since";
    return c;
  }
  if (id.epoch > p.epoch) {
    if (id.first_seq != 0) {
      c.verdict = Verdict::kOutOfOrder;
      c.why = "a new epoch must start at sequence 0, not " + std::to_string(id.first_seq);
    }
    return c;
  }
  for (const auto& b : p.batches) {
    if (b.first_seq == id.first_seq && b.last_seq == id.last_seq) {
      c.verdict = Verdict::kDuplicate;
      c.original = b;
      return c;
    }
  }
  const int32_t last = last_sequence(p);
  if (id.first_seq != add_sequence(last, 1)) {
    c.verdict = Verdict::kOutOfOrder;
    c.why = "expected sequence " + std::to_string(add_sequence(last, 1)) + ", got " +
            std::to_string(id.first_seq) + " (the last stored batch ended at " + std::to_string(last) + ")";
  }
  return c;
}

void ProducerState::record(const BatchIdentity& id, int64_t first_offset, int64_t last_offset) {
  Producer& p = producers_[id.producer_id];
  // A new epoch starts over; so does a sequence that does not follow the
  // last batch (the producer had expired and began again at 0). Replaying
  // the log must leave the same state as the appends did, or a retry could
  // match a batch of the earlier run.
  if (id.epoch != p.epoch ||
      (!p.batches.empty() && id.first_seq != add_sequence(p.batches.back().last_seq, 1))) {
    p.batches.clear();
  }
  p.epoch = id.epoch;
  p.last_timestamp = std::max(p.last_timestamp, id.max_timestamp);
  p.batches.push_back(BatchRecord{id.first_seq, id.last_seq, first_offset, last_offset});
  while (p.batches.size() > kBatchesPerProducer) p.batches.pop_front();
}

void ProducerState::replay(const batch::Header& h) {
  if (!idempotent_batch(h)) return;
  auto it = producers_.find(h.producer_id);
  // Older epochs cannot follow a newer one in a log this broker wrote.
  if (it != producers_.end() && h.producer_epoch < it->second.epoch) return;
  const BatchIdentity id{h.producer_id, h.producer_epoch, h.base_sequence,
                         add_sequence(h.base_sequence, h.last_offset_delta), h.max_timestamp};
  record(id, h.base_offset, h.last_offset());
}

size_t ProducerState::expire(int64_t now_ms, int64_t expiration_ms) {
  size_t n = 0;
  for (auto it = producers_.begin(); it != producers_.end();) {
    if (now_ms - it->second.last_timestamp >= expiration_ms) {
      it = producers_.erase(it);
      ++n;
    } else {
      ++it;
    }
  }
  return n;
}

}  // namespace keel
