#include "leader_epoch_check.hpp"

#include <keel/broker.hpp>

namespace keel::kafka {

ErrorCode check_current_leader_epoch(const sdk::Broker& broker, const std::string& topic, int32_t partition,
                                     int32_t current, int32_t* leader_epoch) {
  if (leader_epoch != nullptr) *leader_epoch = -1;
  sdk::PartitionState st;
  if (broker.partition_state(topic, partition, &st) != KEEL_OK) return ErrorCode::kNone;
  if (leader_epoch != nullptr) *leader_epoch = st.leader_epoch;
  if (current < 0 || current == st.leader_epoch) return ErrorCode::kNone;
  return current < st.leader_epoch ? ErrorCode::kFencedLeaderEpoch : ErrorCode::kUnknownLeaderEpoch;
}

}  // namespace keel::kafka
