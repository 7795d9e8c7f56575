#include <keel/plugin.hpp>

#include "time_retention.hpp"

KEEL_PLUGIN("time", "1.0.0", keel::sdk::retention_strategy<keel::retention::TimeRetention>("time"))
