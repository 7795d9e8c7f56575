#include "plugins/host_services.hpp"

#include "plugins/plugin_config.hpp"

namespace keel {
namespace {

spdlog::level::level_enum to_spdlog(keel_log_level level) {
  switch (level) {
    case KEEL_LOG_TRACE:
      return spdlog::level::trace;
    case KEEL_LOG_DEBUG:
      return spdlog::level::debug;
    case KEEL_LOG_INFO:
      return spdlog::level::info;
    case KEEL_LOG_WARN:
      return spdlog::level::warn;
    case KEEL_LOG_ERROR:
      return spdlog::level::err;
  }
  return spdlog::level::info;
}

template <class T>
keel_status get_typed(const keel_config* cfg, const char* key, T* out, const char* expected) {
  if (cfg == nullptr || key == nullptr || out == nullptr) return KEEL_ERR_INVALID_ARGUMENT;
  std::string where;
  const toml::node* n = config_lookup(*cfg, key, &where);
  if (n == nullptr) return KEEL_ERR_NOT_FOUND;
  if constexpr (std::is_same_v<T, double>) {
    // An integer is a fine double ("ratio = 1").
    if (auto v = n->value<double>()) {
      *out = *v;
      return KEEL_OK;
    }
  } else if (auto v = n->as<T>()) {
    *out = v->get();
    return KEEL_OK;
  }
  config_type_error(*cfg, key, where, expected, *n);
  return KEEL_ERR_INVALID_ARGUMENT;
}

}  // namespace

HostServices::HostServices(const std::string& plugin_name, const Clock* clock) : clock_(clock) {
  auto base = spdlog::default_logger();
  logger_ = std::make_shared<spdlog::logger>(plugin_name, base->sinks().begin(), base->sinks().end());
  logger_->set_level(base->level());

  host_.struct_size = sizeof(keel_host);
  host_.ctx = this;
  host_.log = [](void* ctx, keel_log_level level, const char* message) {
    static_cast<HostServices*>(ctx)->logger_->log(to_spdlog(level), "{}", message ? message : "");
  };
  host_.now_ms = [](void* ctx) { return static_cast<HostServices*>(ctx)->clock_->now_ms(); };
  host_.monotonic_ns = [](void*) { return keel::monotonic_ns(); };
  host_.config_get_int = [](void*, const keel_config* cfg, const char* key, int64_t* out) {
    return get_typed<int64_t>(cfg, key, out, "an integer");
  };
  host_.config_get_double = [](void*, const keel_config* cfg, const char* key, double* out) {
    return get_typed<double>(cfg, key, out, "a number");
  };
  host_.config_get_bool = [](void*, const keel_config* cfg, const char* key, int32_t* out) {
    bool b = false;
    keel_status s = get_typed<bool>(cfg, key, &b, "a boolean");
    if (s == KEEL_OK) *out = b ? 1 : 0;
    return s;
  };
  host_.config_get_string = [](void*, const keel_config* cfg, const char* key, const char** out) {
    if (cfg == nullptr || key == nullptr || out == nullptr) return KEEL_ERR_INVALID_ARGUMENT;
    std::string where;
    const toml::node* n = config_lookup(*cfg, key, &where);
    if (n == nullptr) return KEEL_ERR_NOT_FOUND;
    if (auto v = n->as_string()) {
      // Points into the TOML document, which outlives every plugin instance.
      *out = v->get().c_str();
      return KEEL_OK;
    }
    config_type_error(*cfg, key, where, "a string", *n);
    return KEEL_ERR_INVALID_ARGUMENT;
  };
}

}  // namespace keel
