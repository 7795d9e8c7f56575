#include <keel/plugin.hpp>

#include "round_robin_partitioner.hpp"

KEEL_PLUGIN("round-robin", "1.0.0",
            keel::sdk::partitioner_strategy<keel::partitioner::RoundRobinPartitioner>("round-robin"))
