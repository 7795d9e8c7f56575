#include <keel/plugin.hpp>

#include "key_hash_partitioner.hpp"

KEEL_PLUGIN("key-hash", "1.0.0",
            keel::sdk::partitioner_strategy<keel::partitioner::KeyHashPartitioner>("key-hash"))
