#include <keel/coordinator.hpp>

#include "coordinator/standalone/standalone_coordinator.hpp"

KEEL_PLUGIN("standalone", "1.0.0",
            keel::sdk::coordinator_strategy<keel::coordinator::StandaloneCoordinator>("standalone"))
