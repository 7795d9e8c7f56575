// The Kafka error for a broker status on one partition of a data request
// (Produce, Fetch, ListOffsets, DeleteRecords): the one place where what
// these APIs share is mapped, so that a status means the same to each of
// them. In particular KEEL_ERR_NOT_LEADER (this broker does not lead the
// partition) is NOT_LEADER_OR_FOLLOWER, on which clients refresh metadata
// and go to the leader. A handler maps what is particular to its API first
// (Produce: CORRUPT_MESSAGE, MESSAGE_TOO_LARGE, ...) and falls back to this.
// Pure function.
#pragma once

#include <keel/plugin.h>

#include "protocol/errors.hpp"

namespace keel::kafka {

ErrorCode partition_error(keel_status status);

}  // namespace keel::kafka
