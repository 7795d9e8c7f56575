#include <keel/plugin.hpp>

#include "size_retention.hpp"

KEEL_PLUGIN("size", "1.0.0", keel::sdk::retention_strategy<keel::retention::SizeRetention>("size"))
