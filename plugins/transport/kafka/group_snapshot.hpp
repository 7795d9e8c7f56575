// What a consumer group keeps across a broker restart, as Kafka's
// GroupMetadataManager stores a group in __consumer_offsets (its
// GroupMetadataValue): protocol type, generation, chosen protocol, leader,
// and each member with its client id and host, session and rebalance
// timeouts, subscription (the metadata it offered for the chosen protocol)
// and assignment. The kernel stores the text as the group's metadata
// (store_group_metadata) without reading it; only this transport does.
//
// Format: JSON, versioned by "version" (bytes as base64, since the broker API
// carries the metadata as a C string). Version 0 is what Keel stored before
// members were kept: {"generation", "protocol_type"} only, still read.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "group_state.hpp"

namespace keel::kafka {

struct GroupSnapshot {
  struct Member {
    std::string id;
    std::string client_id;
    std::string client_host;
    std::chrono::milliseconds session_timeout{0};
    std::chrono::milliseconds rebalance_timeout{0};
    std::string subscription;  // metadata for `protocol`
    std::string assignment;    // "" until the leader's SyncGroup
  };
  // Empty (no members), CompletingRebalance (a generation formed, the
  // leader's assignment not yet given) or Stable.
  GroupState state = GroupState::kEmpty;
  int32_t generation = 0;
  std::string protocol_type;
  std::string protocol;
  std::string leader;
  std::vector<Member> members;  // in join order (the leader's member list order)
};

// The version format_snapshot writes.
inline constexpr int kGroupSnapshotVersion = 1;

std::string format_snapshot(const GroupSnapshot& s);
// Throws std::runtime_error naming what is wrong (not JSON, a newer version,
// a missing or mistyped field, bad base64): the caller logs it and starts
// the group empty rather than guess.
GroupSnapshot parse_snapshot(const std::string& text);

}  // namespace keel::kafka
