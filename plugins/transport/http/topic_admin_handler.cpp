// Admin on existing topics, the HTTP equivalents of Kafka's
// CreatePartitions and DeleteRecords:
//   POST /topics/{topic}/partitions {"count": N, "validate_only": false}
//   POST /topics/{topic}/partitions/{partition}/delete-records {"before_offset": N}
#include <algorithm>
#include <string>
#include <vector>

#include "checked_broker.hpp"
#include "errors.hpp"
#include "handlers.hpp"
#include "json_body.hpp"
#include "json_records.hpp"
#include "query.hpp"
#include "services.hpp"

namespace keel::web {
namespace {

int64_t required_int(const nlohmann::json& body, const char* field, const char* what) {
  auto it = body.find(field);
  if (it == body.end() || !it->is_number_integer()) {
    throw bad_request(std::string("field \"") + field + "\" (" + what + ", an integer) is required");
  }
  return it->get<int64_t>();
}

}  // namespace

void handle_create_partitions(const ExchangePtr& x) {
  x->request.query.allow_only({});
  const nlohmann::json body = parse_object_body(x->request.body, {"count", "validate_only"});
  const int64_t count = required_int(body, "count", "the new total number of partitions");
  if (count < 1 || count > 10000) {
    throw bad_request("field \"count\" must be between 1 and 10000, got " + std::to_string(count));
  }
  bool validate_only = false;
  if (auto v = body.find("validate_only"); v != body.end() && !v->is_null()) {
    if (!v->is_boolean())
      throw bad_request("field \"validate_only\" must be true or false, got " + v->dump());
    validate_only = v->get<bool>();
  }
  const CheckedBroker& b = x->services.broker;
  const std::string& topic = x->request.params[0];
  b.create_partitions(topic, static_cast<int32_t>(count), validate_only);
  const TopicInfo t = b.require_topic(topic);
  x->respond(Response::ok({{"name", t.name},
                           {"partition_count", validate_only ? static_cast<int32_t>(count) : t.partitions},
                           {"validate_only", validate_only}}));
}

void handle_delete_records(const ExchangePtr& x) {
  x->request.query.allow_only({});
  const nlohmann::json body = parse_object_body(x->request.body, {"before_offset"});
  const int64_t before = required_int(body, "before_offset", "records before it are deleted; -1 = all");
  const std::string& topic = x->request.params[0];
  const int32_t partition = path_int("partition", x->request.params[1]);
  const int64_t start = x->services.broker.delete_records(topic, partition, before);
  x->respond(Response::ok({{"topic", topic}, {"partition", partition}, {"log_start_offset", start}}));
}

}  // namespace keel::web
