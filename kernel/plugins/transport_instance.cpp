#include "plugins/transport_instance.hpp"

#include "common/error.hpp"

namespace keel {

TransportInstance::TransportInstance(PluginRegistry& registry, const TransportConfig& config,
                                     const keel_broker_api* api)
    : name_(config.name) {
  const std::string what =
      (config.location.empty() ? "" : config.location + ": ") + "transport '" + name_ + "'";
  try {
    ref_ = registry.require(KEEL_KIND_TRANSPORT, name_);
  } catch (const Error& e) {
    throw ConfigError(e.code(), what + ": " + e.what());
  }
  settings_ = std::make_unique<keel_config>();
  settings_->settings = config.settings;
  settings_->owner = "transport '" + name_ + "'";
  keel_error err{};
  keel_status s = ref_.vt<keel_transport_vtable>()->create(ref_.host(), settings_.get(), api, &handle_, &err);
  if (s != KEEL_OK) {
    throw ConfigError(
        s, what + " refused its settings: " + err.message + problem_lines(config_problems(*settings_)));
  }
  auto problems = config_problems(*settings_);
  if (!problems.empty()) {
    ref_.vt<keel_transport_vtable>()->destroy(handle_);
    throw ConfigError(KEEL_ERR_INVALID_ARGUMENT,
                      what + ": its configuration is invalid:" + problem_lines(problems));
  }
}

TransportInstance::~TransportInstance() {
  stop();
  ref_.vt<keel_transport_vtable>()->destroy(handle_);
}

void TransportInstance::start() {
  keel_error err{};
  keel_status s = ref_.vt<keel_transport_vtable>()->start(handle_, &err);
  if (s != KEEL_OK) fail(s, "transport '" + name_ + "' failed to start: " + err.message);
  started_ = true;
}

void TransportInstance::stop() {
  if (started_) ref_.vt<keel_transport_vtable>()->stop(handle_);
  started_ = false;
}

}  // namespace keel
