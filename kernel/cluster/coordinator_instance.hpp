// The [cluster] coordinator as a live plugin instance (keel_coordinator_vtable)
// behind a C++ face: values in and out, keel::Error on failure (its code is
// the plugin's status: UNAVAILABLE when the store cannot be reached).
//
// Threads: constructed and destroyed by the broker's main thread; every
// other call comes from the cluster thread (ClusterService), as the ABI
// says. Watch handlers run on the plugin's threads.
#pragma once

#include <keel/plugin.h>

#include <cstdint>
#include <functional>
#include <keel/coordinator.hpp>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "plugins/plugin_config.hpp"
#include "plugins/plugin_registry.hpp"

namespace keel {

// The coordinator's values, as the SDK's C++ side of the kind names them.
using CoordKv = sdk::CoordKeyValue;
using CoordRange = sdk::CoordRange;
using CoordCompare = sdk::CoordCompare;
using CoordOp = sdk::CoordOp;
using CoordTxnResult = sdk::CoordTxnResult;

struct CoordEvent {
  int32_t type = KEEL_COORD_EVENT_PUT;  // KEEL_COORD_EVENT_*
  CoordKv kv;                           // empty for RESYNC / SESSION_LOST
  int64_t revision = 0;
};

using CoordSession = sdk::CoordSession;

class CoordinatorInstance {
 public:
  using Handler = std::function<void(const CoordEvent&)>;

  // Calls the plugin's create (which connects to nothing). Throws
  // ConfigError naming [cluster] coordinator when the strategy is unknown,
  // refuses its settings or leaves a key of [cluster.<name>] unread.
  CoordinatorInstance(PluginRegistry& registry, const ClusterConfig& config);
  ~CoordinatorInstance();  // the plugin's destroy: ends the session
  CoordinatorInstance(const CoordinatorInstance&) = delete;
  CoordinatorInstance& operator=(const CoordinatorInstance&) = delete;

  CoordSession open_session();
  CoordRange range(const std::string& key, bool prefix);
  CoordTxnResult txn(const std::vector<CoordCompare>& compares, const std::vector<CoordOp>& ops);
  uint64_t watch(const std::string& prefix, int64_t from_revision, Handler handler);
  void unwatch(uint64_t id);
  const std::string& name() const { return name_; }

 private:
  const keel_coordinator_vtable* vt() const { return ref_.vt<keel_coordinator_vtable>(); }

  std::string name_;
  StrategyRef ref_;
  std::unique_ptr<keel_config> settings_;
  keel_coordinator* handle_ = nullptr;
  // Handlers live here, not in the plugin, so that a watch's user pointer
  // stays valid until unwatch returns. Guarded by handlers_mu_.
  std::mutex handlers_mu_;
  std::map<uint64_t, std::unique_ptr<Handler>> handlers_;
};

}  // namespace keel
