// What a Kafka request asks the broker's authorizer (keel_broker_api 2.5),
// as Kafka's KafkaApis asks its Authorizer: the handler names the resource
// and operation, the broker decides, and the handler turns a "no" into the
// API's own error (TOPIC_AUTHORIZATION_FAILED for that topic,
// GROUP_AUTHORIZATION_FAILED, CLUSTER_AUTHORIZATION_FAILED) or leaves the
// resource out of a listing. Without an authorizer every question is
// answered yes without a call into the broker beyond the first check.
//
// Threads: any (the subject is the connection's, read on its strand while
// the handler runs).
#pragma once

#include <keel/broker.hpp>
#include <string_view>

#include "protocol/errors.hpp"
#include "request.hpp"
#include "services.hpp"

namespace keel::kafka {

// Kafka's name of the one cluster resource.
inline constexpr std::string_view kClusterResource = "kafka-cluster";

// Who the request asks as: its connection's subject, or the anonymous
// principal where no connection stands behind it (the fuzzer's).
const sdk::Broker::AuthzSubject& subject_of(const Request& req);

// Whether the request's principal may do `operation` on the resource.
// log_denial = false where a "no" only filters what a listing shows.
bool allowed(const Services& services, const Request& req, int8_t resource_type, int8_t operation,
             std::string_view name, bool log_denial = true);

inline bool topic_allowed(const Services& s, const Request& r, int8_t op, std::string_view topic,
                          bool log_denial = true) {
  return allowed(s, r, KEEL_RESOURCE_TOPIC, op, topic, log_denial);
}
inline bool group_allowed(const Services& s, const Request& r, int8_t op, std::string_view group) {
  return allowed(s, r, KEEL_RESOURCE_GROUP, op, group);
}
inline bool cluster_allowed(const Services& s, const Request& r, int8_t op, bool log_denial = true) {
  return allowed(s, r, KEEL_RESOURCE_CLUSTER, op, kClusterResource, log_denial);
}

// DescribeConfigs and (Incremental)AlterConfigs name a config resource
// (Kafka's ConfigResource.Type: TOPIC 2, BROKER 4, BROKER_LOGGER 8): a topic
// needs `operation` on it, a broker or its loggers on the cluster. kNone
// when allowed, else TOPIC_ or CLUSTER_AUTHORIZATION_FAILED.
ErrorCode config_denial(const Services& services, const Request& req, int8_t config_type,
                        std::string_view name, int8_t operation);

}  // namespace keel::kafka
