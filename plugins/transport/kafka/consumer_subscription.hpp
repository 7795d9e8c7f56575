// The topics a member of a "consumer" group subscribes to, read from the
// metadata it sent with JoinGroup (Kafka's ConsumerProtocolSubscription:
// int16 version, then an array of topic names; what follows the array,
// user data and owned partitions, is not needed here). OffsetDelete refuses
// to delete the offsets of a topic a live consumer is subscribed to.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>

namespace keel::kafka {

// nullopt when the bytes are not a subscription (too short, a negative
// count): the caller then counts every topic as subscribed, to be safe.
std::optional<std::set<std::string>> subscribed_topics(std::string_view metadata);

}  // namespace keel::kafka
