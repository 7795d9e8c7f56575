// GET /topics/{topic}/partitions/{p}/records: records from an offset (or
// the first at or after a timestamp), long-polling up to timeout_ms when
// there are none yet.
#include "checked_broker.hpp"
#include "handlers.hpp"
#include "json_records.hpp"
#include "long_poll.hpp"
#include "record_reader.hpp"
#include "services.hpp"

namespace keel::web {
namespace {

struct ConsumeArgs {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  size_t max_records = 0;
  int64_t max_bytes = 0;
  Encoding encoding = Encoding::Text;
};

void answer(const ExchangePtr& x, const ConsumeArgs& a) {
  ReadResult r = read_records(x->services.broker, a.topic, a.partition, a.offset, a.max_records, a.max_bytes);
  auto records = nlohmann::json::array();
  for (const auto& rec : r.records) records.push_back(record_to_json(rec, a.encoding));
  x->respond(Response::ok({{"records", std::move(records)},
                           {"next_offset", r.next_offset},
                           {"high_watermark", r.watermarks.high_watermark}}));
}

}  // namespace

void handle_consume(const ExchangePtr& x) {
  const Query& q = x->request.query;
  q.allow_only({"offset", "timestamp", "max_records", "max_bytes", "timeout_ms", "value_format"});
  ConsumeArgs a;
  a.topic = x->request.params[0];
  a.partition = path_int("partition", x->request.params[1]);
  const Settings& s = x->services.settings;
  a.max_records = static_cast<size_t>(q.get_int("max_records", 1, 100000, 500));
  a.max_bytes = q.get_int("max_bytes", 1, int64_t{1} << 30, 1 << 20);
  const int64_t timeout_ms = q.get_int("timeout_ms", 0, s.max_long_poll_ms, 0);
  a.encoding =
      q.get_choice("value_format", {"text", "base64"}, "text") == "text" ? Encoding::Text : Encoding::Base64;
  const auto offset = q.get_int("offset", 0, INT64_MAX);
  const auto timestamp = q.get_int("timestamp", 0, INT64_MAX);
  if (offset && timestamp) throw bad_request("give either query parameter 'offset' or 'timestamp', not both");

  const CheckedBroker& b = x->services.broker;
  b.require_leader(a.topic, a.partition);  // 421 naming the leader
  const keel_watermarks w = b.watermarks(a.topic, a.partition);
  if (offset) {
    if (*offset < w.log_start_offset || *offset > w.log_end_offset) {
      throw HttpError(bhttp::status::bad_request, "offset_out_of_range",
                      "query parameter 'offset' is " + std::to_string(*offset) + ", outside " + a.topic +
                          "-" + std::to_string(a.partition) + "'s range [" +
                          std::to_string(w.log_start_offset) + ", " + std::to_string(w.log_end_offset) + "]");
    }
    a.offset = *offset;
  } else if (timestamp) {
    // No record that new yet: wait at the end for the next one.
    a.offset = b.offset_for_time(a.topic, a.partition, *timestamp).value_or(w.log_end_offset);
  } else {
    a.offset = w.log_start_offset;
  }

  if (timeout_ms == 0 || a.offset < w.high_watermark) return answer(x, a);
  LongPoll::start(b, x, {{a.topic, a.partition, a.offset}}, timeout_ms,
                  [x, a] { x->guarded([&] { answer(x, a); }); });
}

}  // namespace keel::web
