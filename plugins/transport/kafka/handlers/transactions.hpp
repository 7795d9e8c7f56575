// Keel's reason for refusing transactions, given by every API a
// transactional producer calls first (FindCoordinator with key type 1,
// InitProducerId with a transactional id).
#pragma once

namespace keel::kafka {

inline constexpr const char* kNoTransactions =
    "transactions are not supported by Keel yet; unset transactional.id (idempotent producers work)";

}  // namespace keel::kafka
