#include "producers/batch_identity.hpp"

namespace keel {

bool identity_of(const std::vector<batch::Header>& headers, BatchIdentity* out, std::string* why) {
  *out = BatchIdentity{};
  if (headers.empty()) return true;
  const auto& first = headers.front();
  if (first.producer_id >= 0 && first.base_sequence < 0 && !first.control()) {
    *why = "batch of producer " + std::to_string(first.producer_id) + " has no sequence number (" +
           std::to_string(first.base_sequence) + "); an idempotent producer numbers every batch from 0";
    return false;
  }
  if (!idempotent_batch(first)) {
    for (size_t i = 1; i < headers.size(); ++i) {
      if (idempotent_batch(headers[i])) {
        *why = "batch #" + std::to_string(i) + " is idempotent (producer " +
               std::to_string(headers[i].producer_id) +
               ") but batch #0 is not; send an idempotent producer's batches in a request of their own";
        return false;
      }
    }
    return true;
  }
  if (headers.size() > 1) {
    // As Kafka (ProduceRequest v3+): a retry must repeat exactly what the
    // first attempt carried, which the log can only tell batch by batch.
    *why = "an idempotent produce must carry exactly one record batch per partition (producer " +
           std::to_string(first.producer_id) + " sent " + std::to_string(headers.size()) + ")";
    return false;
  }
  const BatchIdentity id{first.producer_id, first.producer_epoch, first.base_sequence,
                         add_sequence(first.base_sequence, first.last_offset_delta), first.max_timestamp};
  *out = id;
  return true;
}

}  // namespace keel
