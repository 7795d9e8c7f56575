// GET /topics/{t}/partitions/{p}/segments: the partition's segment files
// (broker API 2.6, list_segments), oldest first; the last is the active one.
#include <vector>

#include "checked_broker.hpp"
#include "handlers.hpp"
#include "services.hpp"

namespace keel::web {

void handle_segments(const ExchangePtr& x) {
  x->request.query.allow_only({});
  const std::string& topic = x->request.params[0];
  const int32_t partition = path_int("partition", x->request.params[1]);
  const CheckedBroker& b = x->services.broker;
  b.watermarks(topic, partition);  // 404 naming the unknown topic or partition
  std::vector<sdk::SegmentView> segments;
  std::string message;
  const keel_status s = b.sdk().list_segments(topic, partition, &segments, &message);
  if (s != KEEL_OK)
    throw from_status(s,
                      "listing the segments of " + topic + "-" + std::to_string(partition) + ": " + message);
  auto out = nlohmann::json::array();
  for (const auto& g : segments) {
    out.push_back({{"base_offset", g.base_offset},
                   {"next_offset", g.next_offset},
                   {"size_bytes", g.size_bytes},
                   {"max_timestamp", g.max_timestamp},
                   {"last_modified_ms", g.last_modified_ms},
                   {"active", g.active}});
  }
  x->respond(Response::ok({{"topic", topic}, {"partition", partition}, {"segments", std::move(out)}}));
}

}  // namespace keel::web
