#include "authorization.hpp"

#include "handlers/topic_configs.hpp"
#include "sasl_state.hpp"

namespace keel::kafka {

const sdk::Broker::AuthzSubject& subject_of(const Request& req) {
  // With an authorizer, anonymous is "no" unless the rules say otherwise.
  static const sdk::Broker::AuthzSubject anonymous;
  return req.sasl != nullptr ? req.sasl->subject : anonymous;
}

bool allowed(const Services& services, const Request& req, int8_t resource_type, int8_t operation,
             std::string_view name, bool log_denial) {
  return services.broker.allowed(subject_of(req), resource_type, operation, name, log_denial);
}

ErrorCode config_denial(const Services& services, const Request& req, int8_t config_type,
                        std::string_view name, int8_t operation) {
  if (config_type == kTopicResource) {
    return topic_allowed(services, req, operation, name) ? ErrorCode::kNone
                                                         : ErrorCode::kTopicAuthorizationFailed;
  }
  // Every other type is the broker's: the handlers refuse the ones they
  // do not serve after this.
  return cluster_allowed(services, req, operation) ? ErrorCode::kNone
                                                   : ErrorCode::kClusterAuthorizationFailed;
}

}  // namespace keel::kafka
