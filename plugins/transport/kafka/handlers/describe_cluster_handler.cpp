// DescribeCluster (key 60), v0-1 (always flexible): this one broker, as
// Metadata describes it, for admin clients (Kafka's AdminClient,
// librdkafka's rd_kafka_DescribeCluster). Keel is its own controller.
#include <climits>
#include <optional>
#include <string>

#include "../protocol/errors.hpp"
#include "../services.hpp"
#include "handlers.hpp"

namespace keel::kafka {
namespace {
// The same id Metadata v2+ gives (clients compare it across brokers only).
constexpr const char* kClusterId = "keel";
constexpr int8_t kEndpointBrokers = 1;
// KIP-919: a broker asked to describe controllers.
constexpr int16_t kMismatchedEndpointType = 114;
// "Not asked for" in Kafka's encoding of authorized operations.
constexpr int32_t kOperationsNotRequested = INT32_MIN;
}  // namespace

void handle_describe_cluster(Services& services, Request& req, const Responder& respond) {
  const int16_t v = req.api_version;
  Reader& r = req.body;
  r.boolean();  // include_cluster_authorized_operations: Keel has no ACLs to report
  const int8_t endpoint_type = v >= 1 ? r.int8() : kEndpointBrokers;
  r.tagged_fields();

  const bool served = endpoint_type == kEndpointBrokers;
  Writer w;
  w.int32(0);  // throttle_time_ms
  w.int16(served ? code(ErrorCode::kNone) : kMismatchedEndpointType);
  w.nullable_string(served
                        ? std::nullopt
                        : std::optional<std::string>("Keel brokers describe brokers (endpoint type 1), not " +
                                                     std::to_string(endpoint_type)),
                    true);
  if (v >= 1) w.int8(kEndpointBrokers);
  w.string(kClusterId, true);
  const int32_t node = services.settings.node_id;
  w.int32(served ? node : -1);  // controller_id
  w.array_length(served ? 1 : 0, true);
  if (served) {
    w.int32(node);
    w.string(services.settings.advertised_host, true);
    w.int32(services.advertised_port);
    w.nullable_string(std::nullopt, true);  // rack
    w.tagged_fields(true);
  }
  w.int32(kOperationsNotRequested);
  w.tagged_fields(true);
  respond.send(std::move(w));
}

}  // namespace keel::kafka
