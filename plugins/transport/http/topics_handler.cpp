// /topics: list, create (Keel settings as JSON, kept by the broker as
// TOML, or Kafka topic configs through the transports' shared table),
// describe (strategies, Kafka configs and per-partition watermarks), delete.
#include <limits>

#include "authorization.hpp"
#include "checked_broker.hpp"
#include "common/kafka_topic_configs.hpp"
#include "handlers.hpp"
#include "json_body.hpp"
#include "json_records.hpp"
#include "names.hpp"
#include "services.hpp"
#include "settings_toml.hpp"

namespace keel::web {
namespace {

// `with_configs`: the principal may DESCRIBE_CONFIGS the topic (Kafka's
// question before it shows a topic's configs); without it "configs" and
// "settings" are left out.
nlohmann::json describe(const CheckedBroker& b, const std::string& name, bool with_configs) {
  const TopicInfo t = b.require_topic(name);
  const TopicDetails d = b.topic_details(name);
  auto partitions = nlohmann::json::array();
  for (int32_t p = 0; p < t.partitions; ++p) {
    const keel_watermarks w = b.watermarks(name, p);
    // Sizes too, so that a list of topics (the console's) needs one request
    // per topic however many partitions it has.
    const keel_partition_health h = b.partition_health(name, p);
    partitions.push_back({{"partition", p},
                          {"log_start_offset", w.log_start_offset},
                          {"high_watermark", w.high_watermark},
                          {"log_end_offset", w.log_end_offset},
                          {"segments", h.segment_count},
                          {"size_bytes", h.size_bytes}});
  }
  nlohmann::json out = {{"name", t.name},
                        {"partition_count", t.partitions},
                        {"internal", t.internal},
                        {"declared_in_config", d.declared},
                        {"partitions", std::move(partitions)}};
  if (!with_configs) return out;
  // The same Kafka names and values as DescribeConfigs over Kafka.
  auto configs = nlohmann::json::object();
  for (const auto& c : transport::kafka_topic_configs(b.topic_settings(&name))) configs[c.name] = c.value;
  out["configs"] = std::move(configs);
  out["settings"] = {{"partitioner", d.partitioner}, {"index", d.index},
                     {"retention", d.retention},     {"segment_bytes", d.segment_bytes},
                     {"segment_ms", d.segment_ms},   {"max_batch_bytes", d.max_batch_bytes},
                     {"flush_mode", d.flush_mode}};
  return out;
}

// {"cleanup.policy": "compact", "retention.ms": 3600000, ...}: values are
// strings as in Kafka, or JSON numbers and booleans taken as their text.
std::string kafka_configs_to_toml(const CheckedBroker& b, const nlohmann::json& configs) {
  if (!configs.is_object()) {
    throw bad_request(
        "field \"configs\" must be an object of Kafka topic configs, e.g. "
        "{\"cleanup.policy\": \"compact\"}, got " +
        type_name(configs));
  }
  transport::KafkaConfigChanges changes;
  for (const auto& [k, v] : configs.items()) {
    if (v.is_string()) {
      changes[k] = v.get<std::string>();
    } else if (v.is_number() || v.is_boolean()) {
      changes[k] = v.dump();
    } else if (!v.is_null()) {
      throw bad_request("configs \"" + k + "\" must be a string or a number, got " + type_name(v));
    }
  }
  std::string error;
  auto toml = transport::keel_topic_settings({}, b.topic_settings(nullptr), changes, false, &error);
  if (!toml) throw bad_request(error);
  return *toml;
}

}  // namespace

void handle_list_topics(const ExchangePtr& x) {
  x->request.query.allow_only({});
  auto topics = nlohmann::json::array();
  for (const auto& t : x->services.broker.list_topics()) {
    // Only topics the principal may DESCRIBE, as Kafka's Metadata for all
    // topics: a filter, not a denial, so not logged.
    if (!topic_allowed(*x, KEEL_ACL_OP_DESCRIBE, t.name, false)) continue;
    topics.push_back({{"name", t.name}, {"partition_count", t.partitions}, {"internal", t.internal}});
  }
  x->respond(Response::ok({{"topics", std::move(topics)}}));
}

void handle_create_topic(const ExchangePtr& x) {
  x->request.query.allow_only({});
  const nlohmann::json body = parse_json_body(x->request.body);
  if (!body.is_object()) throw bad_request("request body must be a JSON object, got " + type_name(body));
  for (const auto& [k, v] : body.items()) {
    if (k != "name" && k != "partitions" && k != "settings" && k != "configs") {
      throw bad_request("unknown field \"" + k + "\"; known: name, partitions, settings, configs");
    }
  }
  auto name = body.find("name");
  if (name == body.end() || !name->is_string()) {
    throw bad_request("field \"name\" (the topic name, a string) is required");
  }
  check_topic_name("field \"name\"", name->get_ref<const std::string&>());
  // Before the rest of the body is judged: a client that may not create the
  // topic learns only that.
  require_topic_create(*x, name->get_ref<const std::string&>());
  int32_t partitions = 0;
  if (auto p = body.find("partitions"); p != body.end() && !p->is_null()) {
    if (!p->is_number_integer() || p->get<int64_t>() < 1 || p->get<int64_t>() > 10000) {
      throw bad_request("field \"partitions\" must be an integer between 1 and 10000, got " + p->dump());
    }
    partitions = static_cast<int32_t>(p->get<int64_t>());
  }
  const CheckedBroker& b = x->services.broker;
  std::string toml;
  auto settings = body.find("settings");
  auto configs = body.find("configs");
  const bool has_settings = settings != body.end() && !settings->is_null();
  if (has_settings) toml = settings_to_toml(*settings);
  if (configs != body.end() && !configs->is_null()) {
    if (has_settings) {
      throw bad_request("give either \"settings\" (Keel's names) or \"configs\" (Kafka's names), not both");
    }
    toml = kafka_configs_to_toml(b, *configs);
  }
  b.create_topic(name->get<std::string>(), partitions, toml);
  const std::string created = name->get<std::string>();
  x->respond(
      Response::json(bhttp::status::created,
                     describe(b, created, topic_allowed(*x, KEEL_ACL_OP_DESCRIBE_CONFIGS, created, false))));
}

void handle_describe_topic(const ExchangePtr& x) {
  x->request.query.allow_only({});
  const std::string& topic = x->request.params[0];
  x->respond(Response::ok(
      describe(x->services.broker, topic, topic_allowed(*x, KEEL_ACL_OP_DESCRIBE_CONFIGS, topic, false))));
}

void handle_delete_topic(const ExchangePtr& x) {
  x->request.query.allow_only({});
  x->services.broker.delete_topic(x->request.params[0]);
  Response r;
  r.status = bhttp::status::no_content;
  x->respond(std::move(r));
}

}  // namespace keel::web
