#include "authorization.hpp"

#include "sasl_state.hpp"

namespace keel::kafka {

bool allowed(const Services& services, const Request& req, int8_t resource_type, int8_t operation,
             std::string_view name, bool log_denial) {
  // Requests with no connection behind them (the fuzzer's) ask as the
  // anonymous principal: with an authorizer, that is "no" unless the rules
  // say otherwise.
  static const sdk::Broker::AuthzSubject anonymous;
  const sdk::Broker::AuthzSubject& subject = req.sasl != nullptr ? req.sasl->subject : anonymous;
  return services.broker.allowed(subject, resource_type, operation, name, log_denial);
}

ErrorCode config_denial(const Services& services, const Request& req, int8_t config_type,
                        std::string_view name, int8_t operation) {
  constexpr int8_t kConfigTopic = 2;
  if (config_type == kConfigTopic) {
    return topic_allowed(services, req, operation, name) ? ErrorCode::kNone
                                                         : ErrorCode::kTopicAuthorizationFailed;
  }
  // Every other type is the broker's: the handlers refuse the ones they
  // do not serve after this.
  return cluster_allowed(services, req, operation) ? ErrorCode::kNone
                                                   : ErrorCode::kClusterAuthorizationFailed;
}

}  // namespace keel::kafka
