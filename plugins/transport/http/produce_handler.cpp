// POST /topics/{topic}/records: validates the whole body first (nothing is
// written for a rejected request), then builds one batch per partition and
// produces them with acks=all, answering offsets in request order.
//
// Idempotent produce: a body with "producer": {"id", "epoch", "sequence"}
// (an identity from POST /producers) sends its records to ONE partition as
// one batch carrying that identity; the kernel checks the sequence. A retry
// of the same request is answered with the original offsets and
// "duplicate": true, and stored once.
#include <keel/record_batch.hpp>
#include <map>

#include "authorization.hpp"
#include "checked_broker.hpp"
#include "handlers.hpp"
#include "json_body.hpp"
#include "json_records.hpp"
#include "services.hpp"

namespace keel::web {
namespace {

// The producer identity of an idempotent request.
struct ProducerFields {
  int64_t id = -1;
  int16_t epoch = 0;
  int32_t sequence = 0;
};

struct Pending {
  bool duplicate = false;
  std::vector<int64_t> offsets;                    // per request record
  std::map<int32_t, std::vector<size_t>> members;  // partition -> request indices, in batch order
  std::map<int32_t, std::string> batches;
  size_t left = 0;
  std::vector<int32_t> written;
  std::string errors;
  keel_status first_error = KEEL_OK;
  int32_t first_error_partition = -1;
};

int64_t integer_in(const nlohmann::json& v, const char* field, int64_t lo, int64_t hi) {
  if (!v.is_number_integer() || v.get<int64_t>() < lo || v.get<int64_t>() > hi) {
    throw bad_request(std::string("producer.") + field + " must be an integer in [" + std::to_string(lo) +
                      ", " + std::to_string(hi) + "], got " + v.dump());
  }
  return v.get<int64_t>();
}

std::optional<ProducerFields> parse_producer(const nlohmann::json& body) {
  auto f = body.find("producer");
  if (f == body.end()) return std::nullopt;
  if (!f->is_object()) {
    throw bad_request(
        "field \"producer\" must be an object {\"id\", \"epoch\", \"sequence\"} (get one from "
        "POST /producers)");
  }
  ProducerFields p;
  for (const char* k : {"id", "epoch", "sequence"}) {
    if (!f->contains(k)) throw bad_request(std::string("field \"producer\" lacks \"") + k + "\"");
  }
  for (const auto& [k, v] : f->items()) {
    if (k == "id") {
      p.id = integer_in(v, "id", 0, INT64_MAX);
    } else if (k == "epoch") {
      p.epoch = static_cast<int16_t>(integer_in(v, "epoch", 0, INT16_MAX));
    } else if (k == "sequence") {
      p.sequence = static_cast<int32_t>(integer_in(v, "sequence", 0, INT32_MAX));
    } else {
      throw bad_request("unknown field \"producer." + k + "\"; known: id, epoch, sequence");
    }
  }
  return p;
}

std::vector<IncomingRecord> parse_body(const nlohmann::json& body) {
  if (!body.is_object()) throw bad_request("request body must be a JSON object, got " + type_name(body));
  for (const auto& [k, v] : body.items()) {
    if (k != "records" && k != "value_format" && k != "producer") {
      throw bad_request("unknown field \"" + k + "\"; known: records, value_format, producer");
    }
  }
  Encoding enc = Encoding::Text;
  if (auto f = body.find("value_format"); f != body.end()) enc = parse_encoding(*f, "value_format");
  auto records = body.find("records");
  if (records == body.end() || !records->is_array()) {
    throw bad_request("field \"records\" (an array of {\"key\", \"value\", ...}) is required");
  }
  if (records->empty()) throw bad_request("field \"records\" is empty; send at least one record");
  std::vector<IncomingRecord> out;
  out.reserve(records->size());
  for (size_t i = 0; i < records->size(); ++i) out.push_back(parse_record((*records)[i], i, enc));
  return out;
}

void finish(const ExchangePtr& x, const std::string& topic, const std::shared_ptr<Pending>& st) {
  if (st->first_error == KEEL_ERR_NOT_LEADER && st->written.empty()) {
    // Leadership moved after the check above: the client goes to the leader.
    throw x->services.broker.not_leader(topic, st->first_error_partition);
  }
  if (st->first_error != KEEL_OK) {
    std::string msg = st->errors;
    if (!st->written.empty()) {
      msg += "; the records for partition(s)";
      for (int32_t p : st->written) msg += " " + std::to_string(p);
      msg += " were written";
    }
    throw from_status(st->first_error, msg);
  }
  auto out = nlohmann::json::array();
  std::vector<int32_t> partition_of(st->offsets.size());
  for (const auto& [p, indices] : st->members) {
    for (size_t i : indices) partition_of[i] = p;
  }
  for (size_t i = 0; i < st->offsets.size(); ++i) {
    out.push_back({{"partition", partition_of[i]}, {"offset", st->offsets[i]}});
  }
  nlohmann::json body = {{"records", std::move(out)}};
  if (st->duplicate) body["duplicate"] = true;
  x->respond(Response::ok(std::move(body)));
}

}  // namespace

void handle_produce(const ExchangePtr& x) {
  x->request.query.allow_only({});
  const std::string topic = x->request.params[0];
  const CheckedBroker& b = x->services.broker;
  const nlohmann::json body = parse_json_body(x->request.body);
  std::vector<IncomingRecord> records = parse_body(body);
  const std::optional<ProducerFields> producer = parse_producer(body);

  auto info = b.find_topic(topic);
  if (!info) {
    if (!b.auto_create_topics()) {
      throw HttpError(bhttp::status::not_found, "unknown_topic",
                      "unknown topic '" + topic +
                          "'; create it first (POST /topics) or set "
                          "broker.auto_create_topics = true");
    }
    // WRITE was asked by the route; creating the topic is CREATE too.
    require_topic_create(*x, topic);
    b.choose_partition(topic, std::nullopt);  // creates it with the topic defaults
    info = b.require_topic(topic);
  }
  for (size_t i = 0; i < records.size(); ++i) {
    if (records[i].partition && *records[i].partition >= info->partitions) {
      throw HttpError(bhttp::status::not_found, "unknown_partition",
                      "records[" + std::to_string(i) + "].partition: topic '" + topic +
                          "' has no partition " + std::to_string(*records[i].partition) + " (it has " +
                          std::to_string(info->partitions) + ")");
    }
  }

  if (producer) {
    // Sequences count per partition: an idempotent request is one batch.
    for (size_t i = 0; i < records.size(); ++i) {
      if (!records[i].partition || *records[i].partition != *records[0].partition) {
        throw bad_request("records[" + std::to_string(i) +
                          "]: with \"producer\", every record must name the same \"partition\" (sequences "
                          "count per partition; send one request per partition)");
      }
    }
  }

  auto st = std::make_shared<Pending>();
  st->offsets.assign(records.size(), -1);
  const int64_t now = x->services.host.now_ms();
  std::map<int32_t, batch::Builder> builders;
  for (size_t i = 0; i < records.size(); ++i) {
    auto& r = records[i];
    const int32_t p = r.partition ? *r.partition : b.choose_partition(topic, r.key);
    st->members[p].push_back(i);
    builders[p].add(std::move(r.key), std::move(r.value), r.timestamp.value_or(now), std::move(r.headers));
  }
  const int64_t max_batch = b.topic_details(topic).max_batch_bytes;
  for (const auto& [p, builder] : builders) {
    std::string batch = builder.build();
    if (max_batch > 0 && static_cast<int64_t>(batch.size()) > max_batch) {
      throw HttpError(bhttp::status::payload_too_large, "batch_too_large",
                      "the " + std::to_string(builder.record_count()) + " record(s) for partition " +
                          std::to_string(p) + " make a batch of " + std::to_string(batch.size()) +
                          " bytes, above topic '" + topic + "' max_batch_bytes (" +
                          std::to_string(max_batch) + "); send fewer or smaller records per request");
    }
    st->batches[p] = std::move(batch);
  }
  if (producer) {
    auto& [p, builder] = *builders.begin();
    builder.producer(producer->id, producer->epoch, producer->sequence);
    st->batches[p] = builder.build();
  }

  // Nothing is written unless this broker leads every partition: 421 names
  // the leader of the first one it does not.
  for (const auto& [p, batch] : st->batches) b.require_leader(topic, p);

  st->left = st->batches.size();
  for (const auto& [p, batch] : st->batches) {
    const int32_t partition = p;
    b.produce(topic, partition, batch, KEEL_ACKS_ALL, [x, st, topic, partition](const sdk::ProduceResult& r) {
      boost::asio::post(x->executor, [x, st, topic, partition, r] {
        const keel_status s = r.status;
        const int64_t base = r.base_offset;
        const std::string& message = r.message;
        if (r.duplicate) st->duplicate = true;
        if (s == KEEL_OK) {
          const auto& indices = st->members[partition];
          for (size_t k = 0; k < indices.size(); ++k) st->offsets[indices[k]] = base + int64_t(k);
          st->written.push_back(partition);
        } else {
          if (st->first_error == KEEL_OK) {
            st->first_error = s;
            st->first_error_partition = partition;
          }
          st->errors += (st->errors.empty() ? "" : "; ") + std::string("partition ") +
                        std::to_string(partition) + ": " + message;
        }
        if (--st->left == 0) x->guarded([&] { finish(x, topic, st); });
      });
    });
  }
}

}  // namespace keel::web
