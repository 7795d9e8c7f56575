#include <keel/plugin.hpp>

#include "timestamp_index.hpp"

KEEL_PLUGIN("timestamp", "1.0.0",
            keel::sdk::index_strategy<keel::index::TimestampIndex>("timestamp", KEEL_INDEX_CAN_LOOKUP_TIME))
