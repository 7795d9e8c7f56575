#include <keel/plugin.hpp>

#include "sparse_mmap_index.hpp"

KEEL_PLUGIN("sparse-mmap", "1.0.0",
            keel::sdk::index_strategy<keel::index::SparseMmapIndex>("sparse-mmap",
                                                                    KEEL_INDEX_CAN_LOOKUP_OFFSET))
