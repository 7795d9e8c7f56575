// `keel-load consume`: read throughput with assign() (no group membership).
#pragma once

#include "options.hpp"

namespace keel::load {

// Returns the process exit status: 0 when no consume error occurred.
int run_consume(const Options& o);

}  // namespace keel::load
