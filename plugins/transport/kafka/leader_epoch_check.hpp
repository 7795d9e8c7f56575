// The current_leader_epoch check of KIP-320 that OffsetForLeaderEpoch
// (v2+), Fetch (v9+) and ListOffsets (v4+) share: a client names the
// leader epoch its metadata showed, and a broker with another one refuses
// the partition. An older epoch: the client's metadata is stale
// (FENCED_LEADER_EPOCH); a newer one: this broker has not caught up with
// the election yet (UNKNOWN_LEADER_EPOCH). Both are retriable: the client
// refreshes metadata and retries.
#pragma once

#include <cstdint>
#include <string>

#include "protocol/errors.hpp"

namespace keel::sdk {
class Broker;
}

namespace keel::kafka {

// kNone when `current` is -1 (not given: older clients, Kafka's "no
// epoch"), equals the partition's leader epoch, or the partition's state is
// unknown (an unknown partition, or a broker older than ABI 2.3): the
// request's own lookup then reports what is wrong. *leader_epoch (if not
// null) gets the partition's leader epoch, -1 when unknown.
ErrorCode check_current_leader_epoch(const sdk::Broker& broker, const std::string& topic, int32_t partition,
                                     int32_t current, int32_t* leader_epoch = nullptr);

}  // namespace keel::kafka
