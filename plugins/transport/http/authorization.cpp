#include "authorization.hpp"

#include "services.hpp"

namespace keel::web {

const char* operation_name(int8_t operation) {
  switch (operation) {
    case KEEL_ACL_OP_ALL:
      return "ALL";
    case KEEL_ACL_OP_READ:
      return "READ";
    case KEEL_ACL_OP_WRITE:
      return "WRITE";
    case KEEL_ACL_OP_CREATE:
      return "CREATE";
    case KEEL_ACL_OP_DELETE:
      return "DELETE";
    case KEEL_ACL_OP_ALTER:
      return "ALTER";
    case KEEL_ACL_OP_DESCRIBE:
      return "DESCRIBE";
    case KEEL_ACL_OP_CLUSTER_ACTION:
      return "CLUSTER_ACTION";
    case KEEL_ACL_OP_DESCRIBE_CONFIGS:
      return "DESCRIBE_CONFIGS";
    case KEEL_ACL_OP_ALTER_CONFIGS:
      return "ALTER_CONFIGS";
    case KEEL_ACL_OP_IDEMPOTENT_WRITE:
      return "IDEMPOTENT_WRITE";
    default:
      return "UNKNOWN";
  }
}

const char* resource_type_name(int8_t resource_type) {
  switch (resource_type) {
    case KEEL_RESOURCE_TOPIC:
      return "topic";
    case KEEL_RESOURCE_GROUP:
      return "group";
    case KEEL_RESOURCE_CLUSTER:
      return "cluster";
    case KEEL_RESOURCE_TRANSACTIONAL_ID:
      return "transactional_id";
    default:
      return "unknown";
  }
}

HttpError forbidden(const sdk::Broker::AuthzSubject& subject, int8_t resource_type, int8_t operation,
                    std::string_view name, const std::string& hint) {
  const std::string op = operation_name(operation);
  const std::string type = resource_type_name(resource_type);
  // The cluster has one fixed name; the message calls it what it is.
  const std::string what =
      resource_type == KEEL_RESOURCE_CLUSTER ? "the cluster" : type + " '" + std::string(name) + "'";
  HttpError e(bhttp::status::forbidden, "forbidden",
              subject.principal + " may not " + op + " " + what + (hint.empty() ? "" : " " + hint));
  // The same facts as fields, for clients that act on them.
  e.with("principal", subject.principal)
      .with("operation", op)
      .with("resource_type", type)
      .with("resource_name", std::string(name));
  return e;
}

bool allowed(const Exchange& x, int8_t resource_type, int8_t operation, std::string_view name,
             bool log_denial) {
  return x.services.broker.sdk().allowed(x.request.subject, resource_type, operation, name, log_denial);
}

void require(const Exchange& x, int8_t resource_type, int8_t operation, std::string_view name) {
  if (!allowed(x, resource_type, operation, name)) {
    throw forbidden(x.request.subject, resource_type, operation, name);
  }
}

void require_topic_create(const Exchange& x, std::string_view topic) {
  // The cluster's "no" is not yet a denial: the topic's own binding may
  // still allow it, so only the last question is logged.
  if (cluster_allowed(x, KEEL_ACL_OP_CREATE, false) || topic_allowed(x, KEEL_ACL_OP_CREATE, topic)) return;
  throw forbidden(x.request.subject, KEEL_RESOURCE_TOPIC, KEEL_ACL_OP_CREATE, topic,
                  "(CREATE on the topic or on the cluster is needed)");
}

}  // namespace keel::web
