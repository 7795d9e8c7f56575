// Choosing the assignment protocol of a group, as Kafka's
// GroupMetadata.selectProtocol does.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace keel::kafka {

// `preferences` holds each member's protocol names, most preferred first.
// Candidates are the protocols every member supports; each member votes for
// its first candidate and the most votes win (ties go to the protocol the
// first member prefers). nullopt when no protocol is common to all.
std::optional<std::string> select_protocol(const std::vector<std::vector<std::string>>& preferences);

}  // namespace keel::kafka
