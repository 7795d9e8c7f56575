// `keel-load produce`: throughput and send-to-acknowledgement latency.
#pragma once

#include "options.hpp"

namespace keel::load {

// Returns the process exit status: 0 when every message was acknowledged.
int run_produce(const Options& o);

}  // namespace keel::load
