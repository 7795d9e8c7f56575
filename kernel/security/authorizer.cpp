#include "security/authorizer.hpp"

#include <spdlog/spdlog.h>

#include <keel/acl_names.hpp>

#include "common/error.hpp"

namespace keel::security {

namespace {

// The SDK's name, or "UNKNOWN(<code>)" so that a bad value shows what it was.
std::string name_or_code(std::string_view name, int32_t v) {
  return name == "UNKNOWN" ? "UNKNOWN(" + std::to_string(v) + ")" : std::string(name);
}

// Names come from clients: control bytes are escaped so that a name cannot
// forge or break log lines.
std::string printable(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      static const char* const hex = "0123456789abcdef";
      out += "\\x";
      out += hex[u >> 4];
      out += hex[u & 15];
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

std::string resource_type_name(int32_t v) { return name_or_code(sdk::acl_names::resource_type(v), v); }
std::string acl_operation_name(int32_t v) { return name_or_code(sdk::acl_names::operation(v), v); }

Authorizer::Authorizer(PluginRegistry& registry, const AuthorizerConfig& config, const std::string& state_dir,
                       Metrics* metrics, std::function<int64_t()> monotonic_ns)
    : name_(config.strategy),
      metrics_(metrics),
      denials_log_(10LL * 1000 * 1000 * 1000, std::move(monotonic_ns)) {
  const std::string what =
      (config.location.empty() ? "" : config.location + ": ") + "[authorizer] strategy '" + name_ + "'";
  try {
    ref_ = registry.require(KEEL_KIND_AUTHORIZER, name_);
  } catch (const Error& e) {
    throw ConfigError(e.code(), what + ": " + e.what());
  }
  settings_ = std::make_unique<keel_config>();
  settings_->settings = config.settings;
  settings_->owner = "authorizer '" + name_ + "'";
  keel_error err{};
  const keel_status s = vt()->create(ref_.host(), settings_.get(),
                                     state_dir.empty() ? nullptr : state_dir.c_str(), &handle_, &err);
  if (s != KEEL_OK) {
    throw ConfigError(
        s, what + " refused to start: " + err.message + problem_lines(config_problems(*settings_)));
  }
  auto problems = config_problems(*settings_);
  if (!problems.empty()) {
    vt()->destroy(handle_);
    throw ConfigError(KEEL_ERR_INVALID_ARGUMENT,
                      what + ": its configuration is invalid:" + problem_lines(problems));
  }
}

Authorizer::~Authorizer() { vt()->destroy(handle_); }

void Authorizer::authorize(const keel_authz_subject* subject, const keel_authz_action* actions,
                           uint32_t count, uint32_t action_size, bool log_denials, int32_t* results) {
  // Fail closed: whatever the plugin leaves unanswered is a denial.
  for (uint32_t i = 0; i < count; ++i) results[i] = KEEL_AUTHZ_DENIED;
  vt()->authorize(handle_, subject, actions, count, action_size, results);
  if (!log_denials) return;
  for (uint32_t i = 0; i < count; ++i) {
    if (results[i] != KEEL_AUTHZ_ALLOWED)
      audit(subject, *KEEL_ELEMENT(keel_authz_action, actions, action_size, i));
  }
}

void Authorizer::audit(const keel_authz_subject* subject, const keel_authz_action& action) {
  const std::string type = resource_type_name(action.resource_type);
  const std::string op = acl_operation_name(action.operation);
  if (metrics_ != nullptr) {
    metrics_->counter_add("keel_authorization_denials_total",
                          "resource_type=\"" + type + "\",operation=\"" + op + "\"", 1);
  }
  const std::string principal =
      printable(subject != nullptr && subject->principal ? subject->principal : "?");
  // A NULL name asked about some resource of the type (KIP-679).
  const bool some = action.resource_name == nullptr;
  const std::string what =
      some ? "any " + type
           : type + " '" +
                 printable(std::string_view(action.resource_name, action.resource_name_len).substr(0, 256)) +
                 "'";
  // One line per principal and kind of denial per 10 s: a client retrying a
  // forbidden produce in a loop cannot flood the log, and a name the client
  // chose is never part of the key (the key set stays bounded).
  denials_log_.warn(principal + "|" + type + "|" + op + (some ? "|some" : ""),
                    "authorization: denied " + principal + " from " +
                        (subject != nullptr && subject->host ? subject->host : "?") + " (listener " +
                        (subject != nullptr && subject->listener ? subject->listener : "?") + ") " + op +
                        " on " + what);
}

keel_status Authorizer::create_acl(const keel_acl_binding* binding, keel_error* err) {
  return vt()->create_acl(handle_, binding, err);
}

keel_status Authorizer::describe_acls(const keel_acl_binding* filter, keel_acl_callback cb, void* user,
                                      keel_error* err) {
  return vt()->describe_acls(handle_, filter, cb, user, err);
}

keel_status Authorizer::delete_acls(const keel_acl_binding* filter, keel_acl_callback cb, void* user,
                                    keel_error* err) {
  return vt()->delete_acls(handle_, filter, cb, user, err);
}

}  // namespace keel::security
