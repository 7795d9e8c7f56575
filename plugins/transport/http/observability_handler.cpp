// GET /health, /ready, /metrics and /topics/{t}/partitions/{p}.
#include "checked_broker.hpp"
#include "handlers.hpp"
#include "services.hpp"

namespace keel::web {

void handle_health(const ExchangePtr& x) {
  x->request.query.allow_only({});
  x->respond(Response::ok({{"status", "ok"}}));
}

void handle_ready(const ExchangePtr& x) {
  x->request.query.allow_only({});
  if (!x->services.broker.ready()) {
    x->respond(error_response(bhttp::status::service_unavailable, "not_ready",
                              "the broker is still recovering its logs; retry shortly"));
    return;
  }
  x->respond(Response::ok({{"status", "ready"}}));
}

void handle_metrics(const ExchangePtr& x) {
  x->request.query.allow_only({});
  Response r;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  r.body = x->services.broker.render_metrics();
  x->respond(std::move(r));
}

void handle_partition(const ExchangePtr& x) {
  x->request.query.allow_only({});
  const std::string& topic = x->request.params[0];
  const int32_t partition = path_int("partition", x->request.params[1]);
  const CheckedBroker& b = x->services.broker;
  const keel_watermarks w = b.watermarks(topic, partition);
  const keel_partition_health h = b.partition_health(topic, partition);
  x->respond(Response::ok({{"topic", topic},
                           {"partition", partition},
                           {"log_start_offset", w.log_start_offset},
                           {"high_watermark", w.high_watermark},
                           {"log_end_offset", w.log_end_offset},
                           {"segments", h.segment_count},
                           {"size_bytes", h.size_bytes},
                           {"oldest_timestamp", h.oldest_timestamp},
                           {"newest_timestamp", h.newest_timestamp},
                           {"index_entries", h.index_entries},
                           {"flushed_offset", h.flushed_offset}}));
}

}  // namespace keel::web
