// The partitions a member of a "consumer" group was assigned, read from the
// assignment its leader sent with SyncGroup (Kafka's
// ConsumerProtocolAssignment: int16 version, then an array of (topic name,
// array of int32 partitions); user data after it is not needed). Only for
// operators' views (the broker's describe_group): nothing is decided on it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace keel::kafka {

// Empty when the bytes are not a consumer assignment (another protocol
// type, or malformed): the view then shows no assignment.
std::vector<std::pair<std::string, int32_t>> assigned_partitions(std::string_view assignment);

}  // namespace keel::kafka
