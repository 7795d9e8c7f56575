// Member ids handed to consumers joining a group for the first time.
#pragma once

#include <string>

namespace keel::kafka {

// "<client_id>-<random uuid>", as Kafka forms them: unique across restarts,
// and the client id makes them readable in DescribeGroups.
std::string new_member_id(const std::string& client_id);

}  // namespace keel::kafka
