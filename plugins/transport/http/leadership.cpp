// Which broker a partition's produce and consume requests belong to, from
// the broker's cluster view (keel_broker_api 2.3): a request for a
// partition led elsewhere is answered 421 Misdirected Request, naming the
// leader and, when it serves HTTP, the same request there.
#include "checked_broker.hpp"
#include "cluster_urls.hpp"

namespace keel::web {

void CheckedBroker::require_leader(const std::string& topic, int32_t partition) const {
  const auto info = b_.cluster_info();
  if (!info) return;
  sdk::PartitionState st;
  if (b_.partition_state(topic, partition, &st) != KEEL_OK) return;
  if (st.leader == info->broker_id) return;
  if (st.leader < 0) {
    throw HttpError(bhttp::status::service_unavailable, "leader_not_available",
                    topic + "-" + std::to_string(partition) +
                        " has no leader right now (an election is running, or every replica is down); "
                        "retry shortly")
        .with("leader", nullptr);
  }
  throw not_leader(topic, partition);
}

HttpError CheckedBroker::not_leader(const std::string& topic, int32_t partition) const {
  const std::string name = topic + "-" + std::to_string(partition);
  const auto info = b_.cluster_info();
  const std::string self = info ? "broker " + std::to_string(info->broker_id) : "this broker";
  sdk::PartitionState st;
  // The broker refused, yet its view names no other leader: leadership is
  // moving and the view has not caught up.
  const bool known = info && b_.partition_state(topic, partition, &st) == KEEL_OK && st.leader >= 0 &&
                     st.leader != info->broker_id;
  if (!known) {
    return HttpError(bhttp::status::misdirected_request, "not_leader",
                     self + " does not lead " + name +
                         " and knows no other leader for it right now; retry shortly (GET /cluster shows "
                         "the leaders)")
        .with("leader", nullptr);
  }
  const std::string leader = "broker " + std::to_string(st.leader);
  const std::optional<std::string> url = http_url_of(b_, st.leader);
  if (!url) {
    return HttpError(bhttp::status::misdirected_request, "not_leader",
                     self + " does not lead " + name + "; " + leader +
                         " does, and serves no HTTP listener: produce and consume there over another "
                         "transport (GET /cluster lists its listeners)")
        .with("leader", st.leader)
        .with("leader_url", nullptr);
  }
  return HttpError(bhttp::status::misdirected_request, "not_leader",
                   self + " does not lead " + name + "; " + leader + " does: send the request to " + *url)
      .with("leader", st.leader)
      .with("leader_url", *url)
      .redirect_to(*url);
}

}  // namespace keel::web
