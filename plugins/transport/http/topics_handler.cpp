// /topics: list, create (settings as JSON, kept by the broker as TOML),
// describe (strategies and per-partition watermarks), delete.
#include <limits>

#include "checked_broker.hpp"
#include "handlers.hpp"
#include "json_body.hpp"
#include "json_records.hpp"
#include "names.hpp"
#include "services.hpp"
#include "settings_toml.hpp"

namespace keel::web {
namespace {

nlohmann::json describe(const CheckedBroker& b, const std::string& name) {
  const TopicInfo t = b.require_topic(name);
  const TopicDetails d = b.topic_details(name);
  auto partitions = nlohmann::json::array();
  for (int32_t p = 0; p < t.partitions; ++p) {
    const keel_watermarks w = b.watermarks(name, p);
    partitions.push_back({{"partition", p},
                          {"log_start_offset", w.log_start_offset},
                          {"high_watermark", w.high_watermark},
                          {"log_end_offset", w.log_end_offset}});
  }
  return {{"name", t.name},
          {"partition_count", t.partitions},
          {"internal", t.internal},
          {"settings",
           {{"partitioner", d.partitioner},
            {"index", d.index},
            {"retention", d.retention},
            {"segment_bytes", d.segment_bytes},
            {"segment_ms", d.segment_ms},
            {"max_batch_bytes", d.max_batch_bytes},
            {"flush_mode", d.flush_mode}}},
          {"declared_in_config", d.declared},
          {"partitions", std::move(partitions)}};
}

}  // namespace

void handle_list_topics(const ExchangePtr& x) {
  x->request.query.allow_only({});
  auto topics = nlohmann::json::array();
  for (const auto& t : x->services.broker.list_topics()) {
    topics.push_back({{"name", t.name}, {"partition_count", t.partitions}, {"internal", t.internal}});
  }
  x->respond(Response::ok({{"topics", std::move(topics)}}));
}

void handle_create_topic(const ExchangePtr& x) {
  x->request.query.allow_only({});
  const nlohmann::json body = parse_json_body(x->request.body);
  if (!body.is_object()) throw bad_request("request body must be a JSON object, got " + type_name(body));
  for (const auto& [k, v] : body.items()) {
    if (k != "name" && k != "partitions" && k != "settings") {
      throw bad_request("unknown field \"" + k + "\"; known: name, partitions, settings");
    }
  }
  auto name = body.find("name");
  if (name == body.end() || !name->is_string()) {
    throw bad_request("field \"name\" (the topic name, a string) is required");
  }
  check_topic_name("field \"name\"", name->get_ref<const std::string&>());
  int32_t partitions = 0;
  if (auto p = body.find("partitions"); p != body.end() && !p->is_null()) {
    if (!p->is_number_integer() || p->get<int64_t>() < 1 || p->get<int64_t>() > 10000) {
      throw bad_request("field \"partitions\" must be an integer between 1 and 10000, got " + p->dump());
    }
    partitions = static_cast<int32_t>(p->get<int64_t>());
  }
  std::string toml;
  if (auto s = body.find("settings"); s != body.end() && !s->is_null()) toml = settings_to_toml(*s);
  const CheckedBroker& b = x->services.broker;
  b.create_topic(name->get<std::string>(), partitions, toml);
  x->respond(Response::json(bhttp::status::created, describe(b, name->get<std::string>())));
}

void handle_describe_topic(const ExchangePtr& x) {
  x->request.query.allow_only({});
  x->respond(Response::ok(describe(x->services.broker, x->request.params[0])));
}

void handle_delete_topic(const ExchangePtr& x) {
  x->request.query.allow_only({});
  x->services.broker.delete_topic(x->request.params[0]);
  Response r;
  r.status = bhttp::status::no_content;
  x->respond(std::move(r));
}

}  // namespace keel::web
