// DescribeCluster (key 60), v0-1 (always flexible): the live brokers and the
// controller, as Metadata describes them (cluster_view.hpp), for admin
// clients (Kafka's AdminClient, librdkafka's rd_kafka_DescribeCluster).
#include <climits>
#include <optional>
#include <string>

#include "../authorization.hpp"
#include "../cluster_view.hpp"
#include "../protocol/errors.hpp"
#include "../services.hpp"
#include "handlers.hpp"

namespace keel::kafka {
namespace {
constexpr int8_t kEndpointBrokers = 1;
// KIP-919: a broker asked to describe controllers.
constexpr int16_t kMismatchedEndpointType = 114;
// "Not asked for" in Kafka's encoding of authorized operations.
constexpr int32_t kOperationsNotRequested = INT32_MIN;
}  // namespace

void handle_describe_cluster(Services& services, Request& req, const Responder& respond) {
  const int16_t v = req.api_version;
  Reader& r = req.body;
  r.boolean();  // include_cluster_authorized_operations: not reported (Metadata v8-10 does)
  const int8_t endpoint_type = v >= 1 ? r.int8() : kEndpointBrokers;
  r.tagged_fields();

  const bool authorized = cluster_allowed(services, req, KEEL_ACL_OP_DESCRIBE);
  const bool served = authorized && endpoint_type == kEndpointBrokers;
  Writer w;
  w.int32(0);  // throttle_time_ms
  w.int16(!authorized ? code(ErrorCode::kClusterAuthorizationFailed)
          : served    ? code(ErrorCode::kNone)
                      : kMismatchedEndpointType);
  w.nullable_string(!authorized ? std::optional<std::string>("not authorized to DESCRIBE the cluster")
                    : served
                        ? std::nullopt
                        : std::optional<std::string>("Keel brokers describe brokers (endpoint type 1), not " +
                                                     std::to_string(endpoint_type)),
                    true);
  if (v >= 1) w.int8(kEndpointBrokers);
  const ClusterView cluster = cluster_view(services, req.listener);
  w.string(cluster.cluster_id, true);
  w.int32(served ? cluster.controller : -1);  // controller_id
  w.array_length(served ? static_cast<int32_t>(cluster.brokers.size()) : 0, true);
  if (served) {
    for (const auto& b : cluster.brokers) {
      w.int32(b.id);
      w.string(b.host, true);
      w.int32(b.port);
      w.nullable_string(b.rack, true);
      w.tagged_fields(true);
    }
  }
  w.int32(kOperationsNotRequested);
  w.tagged_fields(true);
  respond.send(std::move(w));
}

}  // namespace keel::kafka
