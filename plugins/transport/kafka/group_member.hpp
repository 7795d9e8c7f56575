// One member of a consumer group, as the coordinator tracks it.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "group_clock.hpp"
#include "group_operations.hpp"

namespace keel::kafka {

struct GroupMember {
  std::string id;
  std::string client_id;
  std::string client_host;
  uint64_t join_order = 0;  // the leader is the earliest member still present
  std::chrono::milliseconds session_timeout{0};
  std::chrono::milliseconds rebalance_timeout{0};
  std::string protocol_type;
  std::vector<GroupProtocol> protocols;
  std::string assignment;
  // The session ends at this time unless a heartbeat, join, sync or commit
  // pushes it later. Not enforced while the member waits in a join.
  GroupClock::time_point deadline;
  // Requests answered later. Usually at most one each, but a client that
  // gave up on a request and sent it again gets both answered.
  std::vector<JoinCallback> awaiting_join;
  std::vector<SyncCallback> awaiting_sync;

  bool joining() const { return !awaiting_join.empty(); }
  void touch(GroupClock::time_point now) { deadline = now + session_timeout; }

  // The metadata this member offered for `protocol`, "" if none.
  const std::string& metadata_for(const std::string& protocol) const {
    static const std::string kNone;
    for (const auto& p : protocols) {
      if (p.name == protocol) return p.metadata;
    }
    return kNone;
  }
  bool same_protocols(const std::vector<GroupProtocol>& other) const {
    if (other.size() != protocols.size()) return false;
    for (size_t i = 0; i < other.size(); ++i) {
      if (other[i].name != protocols[i].name || other[i].metadata != protocols[i].metadata) return false;
    }
    return true;
  }
};

}  // namespace keel::kafka
