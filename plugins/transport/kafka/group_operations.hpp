// Inputs and outputs of the group operations, independent of the wire
// versions the handlers decode and encode.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "protocol/errors.hpp"

namespace keel::kafka {

// One assignment strategy a member offers, with its opaque metadata.
struct GroupProtocol {
  std::string name;
  std::string metadata;
};

struct JoinArgs {
  std::string member_id;  // "" for a member joining for the first time
  std::string client_id;
  std::string client_host;
  std::chrono::milliseconds session_timeout{0};
  std::chrono::milliseconds rebalance_timeout{0};
  std::string protocol_type;
  std::vector<GroupProtocol> protocols;  // in the member's preference order
};

struct JoinedMember {
  std::string member_id;
  std::string metadata;  // for the chosen protocol
};

struct JoinResult {
  ErrorCode error = ErrorCode::kNone;
  int32_t generation = -1;
  std::string protocol_name;
  std::string leader;
  std::string member_id;
  std::vector<JoinedMember> members;  // only in the leader's answer
};

struct SyncResult {
  ErrorCode error = ErrorCode::kNone;
  std::string assignment;
};

struct MemberAssignment {
  std::string member_id;
  std::string assignment;
};

// Called exactly once per request, possibly much later (when the rebalance
// completes) and from another thread, with the group's lock held: it must
// only encode and post (Responder::send does).
using JoinCallback = std::function<void(const JoinResult&)>;
using SyncCallback = std::function<void(const SyncResult&)>;

struct MemberSummary {
  std::string member_id;
  std::string client_id;
  std::string client_host;
  std::string metadata;    // Stable groups only
  std::string assignment;  // Stable groups only
};

struct GroupSummary {
  std::string group_id;
  std::string state;
  std::string protocol_type;
  std::string protocol;  // Stable groups only
  std::vector<MemberSummary> members;
};

}  // namespace keel::kafka
