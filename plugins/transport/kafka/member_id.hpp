// Member ids handed to consumers joining a group for the first time.
#pragma once

#include <cstddef>
#include <string>

namespace keel::kafka {

// "<client_id>-<random uuid>", as Kafka forms them: unique across restarts,
// and the client id makes them readable in DescribeGroups. Unlike Kafka, a
// client id is cut so that the id fits a classic STRING (int16 length,
// kMaxMemberIdBytes): a client id may be 32767 bytes itself, and a longer
// member id would be written with a negative length into the JoinGroup
// answers of every member of the group (v0-5), corrupting them.
inline constexpr size_t kMaxMemberIdBytes = 32767;
std::string new_member_id(const std::string& client_id);

}  // namespace keel::kafka
