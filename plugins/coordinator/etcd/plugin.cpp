#include <keel/coordinator.hpp>

#include "coordinator/etcd/etcd_coordinator.hpp"

KEEL_PLUGIN("etcd", "1.0.0", keel::sdk::coordinator_strategy<keel::coordinator::EtcdCoordinator>("etcd"))
