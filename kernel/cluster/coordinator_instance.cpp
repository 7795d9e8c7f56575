#include "cluster/coordinator_instance.hpp"

#include "common/error.hpp"

namespace keel {
namespace {

CoordKv copy_kv(const keel_coord_kv* kv) {
  CoordKv out;
  if (kv == nullptr) return out;
  out.key = kv->key != nullptr ? kv->key : "";
  if (kv->value != nullptr) out.value.assign(reinterpret_cast<const char*>(kv->value), kv->value_len);
  out.create_revision = kv->create_revision;
  out.mod_revision = kv->mod_revision;
  return out;
}

}  // namespace

CoordinatorInstance::CoordinatorInstance(PluginRegistry& registry, const ClusterConfig& config)
    : name_(config.coordinator) {
  const std::string what = (config.coordinator_location.empty() ? "" : config.coordinator_location + ": ") +
                           "[cluster] coordinator '" + name_ + "'";
  try {
    ref_ = registry.require(KEEL_KIND_COORDINATOR, name_);
  } catch (const Error& e) {
    throw ConfigError(e.code(), what + ": " + e.what());
  }
  settings_ = std::make_unique<keel_config>();
  settings_->settings = config.coordinator_settings;
  settings_->owner = "coordinator '" + name_ + "'";
  keel_error err{};
  const keel_status s = vt()->create(ref_.host(), settings_.get(), &handle_, &err);
  if (s != KEEL_OK) {
    throw ConfigError(
        s, what + " refused its settings: " + err.message + problem_lines(config_problems(*settings_)));
  }
  auto problems = config_problems(*settings_);
  if (!problems.empty()) {
    vt()->destroy(handle_);
    throw ConfigError(KEEL_ERR_INVALID_ARGUMENT,
                      what + ": its configuration is invalid:" + problem_lines(problems));
  }
}

CoordinatorInstance::~CoordinatorInstance() { vt()->destroy(handle_); }

CoordSession CoordinatorInstance::open_session() {
  keel_error err{};
  CoordSession out;
  const keel_status s = vt()->open_session(handle_, &out.id, &out.ttl_ms, &err);
  if (s != KEEL_OK) fail(s, "coordinator '" + name_ + "' could not open a session: " + err.message);
  return out;
}

CoordRange CoordinatorInstance::range(const std::string& key, bool prefix) {
  keel_error err{};
  CoordRange out;
  const keel_status s = vt()->range(
      handle_, key.c_str(), prefix ? 1 : 0,
      [](void* user, const keel_coord_kv* kv) { static_cast<CoordRange*>(user)->kvs.push_back(copy_kv(kv)); },
      &out, &out.revision, &err);
  if (s != KEEL_OK) fail(s, "coordinator '" + name_ + "' could not read '" + key + "': " + err.message);
  return out;
}

CoordTxnResult CoordinatorInstance::txn(const std::vector<CoordCompare>& compares,
                                        const std::vector<CoordOp>& ops) {
  std::vector<keel_coord_compare> cs;
  cs.reserve(compares.size());
  for (const auto& c : compares) {
    keel_coord_compare x{};
    x.struct_size = sizeof x;
    x.target = c.target;
    x.key = c.key.c_str();
    x.revision = c.revision;
    cs.push_back(x);
  }
  std::vector<keel_coord_op> os;
  os.reserve(ops.size());
  for (const auto& o : ops) {
    keel_coord_op x{};
    x.struct_size = sizeof x;
    x.type = o.type;
    x.key = o.key.c_str();
    x.value = reinterpret_cast<const uint8_t*>(o.value.data());
    x.value_len = o.value.size();
    x.session_bound = o.session_bound ? 1 : 0;
    os.push_back(x);
  }
  keel_error err{};
  int32_t succeeded = 0;
  CoordTxnResult out;
  const keel_status s =
      vt()->txn(handle_, cs.data(), static_cast<uint32_t>(cs.size()), sizeof(keel_coord_compare), os.data(),
                static_cast<uint32_t>(os.size()), sizeof(keel_coord_op), &succeeded, &out.revision, &err);
  if (s != KEEL_OK) {
    fail(s, "coordinator '" + name_ + "' could not write" +
                (ops.empty() ? "" : " '" + ops.front().key + "'") + ": " + err.message);
  }
  out.succeeded = succeeded != 0;
  return out;
}

uint64_t CoordinatorInstance::watch(const std::string& prefix, int64_t from_revision, Handler handler) {
  auto owned = std::make_unique<Handler>(std::move(handler));
  Handler* h = owned.get();
  keel_error err{};
  uint64_t id = 0;
  // Registered under the lock so that an event delivered before watch()
  // returns finds a live handler (the pointer, not the map, is what the
  // plugin holds).
  std::lock_guard lock(handlers_mu_);
  const keel_status s = vt()->watch(
      handle_, prefix.c_str(), from_revision,
      [](void* user, int32_t event, const keel_coord_kv* kv, int64_t revision) {
        (*static_cast<Handler*>(user))(CoordEvent{event, copy_kv(kv), revision});
      },
      h, &id, &err);
  if (s != KEEL_OK) fail(s, "coordinator '" + name_ + "' could not watch '" + prefix + "': " + err.message);
  handlers_[id] = std::move(owned);
  return id;
}

void CoordinatorInstance::unwatch(uint64_t id) {
  vt()->unwatch(handle_, id);
  std::lock_guard lock(handlers_mu_);
  handlers_.erase(id);
}

}  // namespace keel
