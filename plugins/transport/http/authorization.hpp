// What an HTTP request asks the broker's authorizer (keel_broker_api 2.5),
// by the rules the Kafka transport follows for the same operations (see
// docs/design/authorization.md): the route table names what each route needs
// on the topic or group of its path, or on the cluster (router.cpp); handlers
// ask what depends on the body (a topic to create, the topics of a commit) or
// filter what they list. A denial is 403 "forbidden" naming principal,
// operation and resource. Without an [authorizer] every question is answered
// yes (the broker's answer), so nothing changes for a broker without one.
//
// Threads: any (the subject is the request's own).
#pragma once

#include <keel/plugin.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "errors.hpp"
#include "exchange.hpp"

namespace keel::web {

// Kafka's name of the one cluster resource.
inline constexpr std::string_view kClusterResource = "kafka-cluster";

// For the 403 answer: the operation as Kafka names it ("WRITE",
// "IDEMPOTENT_WRITE"), the resource type in lower case as the HTTP API
// names its resources ("topic", "group", "cluster").
const char* operation_name(int8_t operation);
const char* resource_type_name(int8_t resource_type);

// 403 "forbidden": `subject` may not do `operation` on the resource;
// `hint` (may be empty) says what else would have allowed it.
HttpError forbidden(const sdk::Broker::AuthzSubject& subject, int8_t resource_type, int8_t operation,
                    std::string_view name, const std::string& hint = "");

// Whether the request's principal may do `operation` on the resource.
// log_denial = false where a "no" only filters what a listing shows, or is
// followed by another question that may still allow it.
bool allowed(const Exchange& x, int8_t resource_type, int8_t operation, std::string_view name,
             bool log_denial = true);
inline bool topic_allowed(const Exchange& x, int8_t operation, std::string_view topic,
                          bool log_denial = true) {
  return allowed(x, KEEL_RESOURCE_TOPIC, operation, topic, log_denial);
}
inline bool cluster_allowed(const Exchange& x, int8_t operation, bool log_denial = true) {
  return allowed(x, KEEL_RESOURCE_CLUSTER, operation, kClusterResource, log_denial);
}

// Throws forbidden() unless allowed.
void require(const Exchange& x, int8_t resource_type, int8_t operation, std::string_view name);

// Creating a topic (POST /topics, or a produce that auto-creates it) needs
// CREATE on the cluster, which covers every topic, or on the topic itself
// (Kafka's rule). Throws forbidden() otherwise.
void require_topic_create(const Exchange& x, std::string_view topic);

}  // namespace keel::web
