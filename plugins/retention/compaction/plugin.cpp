#include <keel/plugin.hpp>

#include "compaction_retention.hpp"

KEEL_PLUGIN("compaction", "1.0.0",
            keel::sdk::retention_strategy<keel::compaction::CompactionRetention>("compaction"))
