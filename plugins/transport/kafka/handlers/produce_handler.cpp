// Produce (key 0), v0-9 (v9 flexible). v3+ carry RecordBatch v2, stored as
// sent; v0-2 (old MessageSet) are advertised only because librdkafka needs
// Produce v0 listed to enable compression, and are refused per partition.
// v8+ answers carry the reason for a partition's error in error_message;
// record_errors stays empty (the reason names the batch and record).
//
// Every partition is appended at once, in request order (so pipelined
// requests keep their order); each completes asynchronously, and the answer
// goes out when the last one is done. acks=0 gets no answer at all, unless a
// partition failed: then the connection is closed, as Kafka does, so the
// producer notices.
#include <atomic>
#include <keel/record_batch.hpp>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "../authorization.hpp"
#include "../partition_error.hpp"
#include "../protocol/errors.hpp"
#include "../services.hpp"
#include "handlers.hpp"

namespace keel::kafka {
namespace {

struct PartitionAnswer {
  int32_t index = 0;
  int16_t error = 0;
  int64_t base_offset = -1;
  int64_t log_append_time = -1;
  int64_t log_start_offset = -1;
  std::optional<std::string> error_message;  // v8+
};

struct TopicAnswer {
  std::string name;
  std::vector<PartitionAnswer> partitions;
};

// Shared by the partitions' completions; the last one answers.
struct ProduceCall {
  Services* services = nullptr;
  Responder respond;
  std::shared_ptr<Frame> frame;  // the records point into it
  int16_t version = 0;
  bool flexible = false;
  int16_t acks = 0;
  std::vector<TopicAnswer> topics;
  std::atomic<int> pending{1};  // one per partition, plus the parse loop
  std::mutex mu;
  std::string first_failure;

  explicit ProduceCall(const Responder& r) : respond(r) {}

  void failed(PartitionAnswer& answer, int16_t error, const std::string& why) {
    answer.error = error;
    answer.error_message = why;  // only this partition's completion writes it
    services->host.debug(why);
    std::lock_guard lock(mu);
    if (first_failure.empty()) first_failure = why;
  }

  void finished_one() {
    if (pending.fetch_sub(1) != 1) return;
    if (acks == 0) {
      if (first_failure.empty()) {
        respond.send_nothing();
      } else {
        services->host.warn(
            "closing a connection after a failed acks=0 produce (the client gets no response "
            "to learn from): " +
            first_failure);
        respond.close();
      }
      return;
    }
    Writer w;
    w.array_length(static_cast<int32_t>(topics.size()), flexible);
    for (const auto& t : topics) {
      w.string(t.name, flexible);
      w.array_length(static_cast<int32_t>(t.partitions.size()), flexible);
      for (const auto& p : t.partitions) {
        w.int32(p.index);
        w.int16(p.error);
        w.int64(p.base_offset);
        if (version >= 2) w.int64(p.log_append_time);
        if (version >= 5) w.int64(p.log_start_offset);
        if (version >= 8) {
          w.array_length(0, flexible);  // record_errors
          w.nullable_string(p.error_message, flexible);
        }
        w.tagged_fields(flexible);
      }
      w.tagged_fields(flexible);
    }
    if (version >= 1) w.int32(0);  // throttle_time_ms comes last in Produce
    w.tagged_fields(flexible);
    respond.send(std::move(w));
  }
};

int16_t kafka_error(const sdk::ProduceResult& o) {
  switch (o.status) {
    case KEEL_ERR_CORRUPT:
      return code(ErrorCode::kCorruptMessage);
    case KEEL_ERR_TOO_LARGE:
      return code(ErrorCode::kMessageTooLarge);
    case KEEL_ERR_INVALID_NAME:
      // A bad name, or a write to a broker-internal topic (as Kafka answers
      // for its internal topics).
      return code(ErrorCode::kInvalidTopicException);
    case KEEL_ERR_INVALID_ARGUMENT:
      return code(ErrorCode::kInvalidRecord);
    case KEEL_ERR_OUT_OF_ORDER:
      return code(ErrorCode::kOutOfOrderSequenceNumber);
    case KEEL_ERR_UNKNOWN_PRODUCER:
      return code(ErrorCode::kUnknownProducerId);
    case KEEL_ERR_FENCED:
      return code(ErrorCode::kInvalidProducerEpoch);
    case KEEL_ERR_UNSUPPORTED:
      return code(ErrorCode::kUnsupportedForMessageFormat);
    default:  // NOT_LEADER, UNAVAILABLE, storage errors: as every data API
      return code(partition_error(o.status));
  }
}

// The codec id of the first batch naming one Kafka does not define (5-7),
// else -1. The kernel refuses such a batch too, as an invalid record, for
// every transport; Kafka clients get UNSUPPORTED_COMPRESSION_TYPE, which says
// more. Stops at the first batch whose framing is broken: the kernel names
// that.
int unknown_codec(const uint8_t* data, size_t len) {
  size_t pos = 0;
  while (len - pos >= batch::kHeaderSize) {
    const auto h = batch::parse_header(data + pos, len - pos);
    if (h->batch_length < batch::kMinBatchLength || h->total_size() > len - pos) return -1;
    const int codec = static_cast<int>(h->compression());
    if (codec > static_cast<int>(batch::Compression::Zstd)) return codec;
    pos += h->total_size();
  }
  return -1;
}

std::once_flag legacy_format_logged;

}  // namespace

void handle_produce(Services& services, Request& req, const Responder& respond) {
  auto call = std::make_shared<ProduceCall>(respond);
  call->services = &services;
  call->frame = req.frame;
  call->version = req.api_version;
  call->flexible = req.flexible;
  Reader& r = req.body;
  if (req.api_version >= 3) r.any_nullable_string(req.flexible);  // transactional_id
  call->acks = r.int16();
  r.int32();  // timeout_ms: appends never wait on other brokers
  const bool acks_valid = call->acks == 0 || call->acks == 1 || call->acks == -1;

  // Parse everything first: a malformed request must not half-append.
  struct Work {
    size_t topic;
    size_t partition;
    std::optional<std::string_view> records;
  };
  std::vector<Work> work;
  const int32_t topic_count = r.array_length(req.flexible);
  for (int32_t t = 0; t < topic_count; ++t) {
    TopicAnswer topic;
    topic.name = r.any_string(req.flexible);
    const int32_t partition_count = r.array_length(req.flexible);
    for (int32_t i = 0; i < partition_count; ++i) {
      PartitionAnswer p;
      p.index = r.int32();
      work.push_back({call->topics.size(), topic.partitions.size(), r.nullable_bytes(req.flexible)});
      if (req.flexible) r.tagged_fields();
      topic.partitions.push_back(p);
    }
    if (req.flexible) r.tagged_fields();
    call->topics.push_back(std::move(topic));
  }
  if (req.flexible) r.tagged_fields();

  // A lone request for one partition (a producer at window 1) may have its
  // sync run on this thread; with several partitions, or requests queued
  // behind it, the flusher's group commit serves better.
  const uint32_t sync_here = req.alone && work.size() == 1 ? KEEL_PRODUCE_SYNC_HERE : 0;
  const int32_t broker_acks = call->acks == -1  ? KEEL_ACKS_ALL
                              : call->acks == 1 ? KEEL_ACKS_LEADER
                                                : KEEL_ACKS_NONE;
  // One question per topic, not per partition (Kafka's WRITE on the topic).
  // The kernel creates a missing topic on produce (auto_create_topics);
  // with an authorizer that needs CREATE too, as Metadata's creation does,
  // or WRITE alone would let a principal make topics without end.
  const bool authorizing = services.broker.has_authorizer();
  std::vector<ErrorCode> refusal(call->topics.size(), ErrorCode::kNone);
  for (size_t i = 0; i < call->topics.size(); ++i) {
    const std::string& name = call->topics[i].name;
    if (!topic_allowed(services, req, KEEL_ACL_OP_WRITE, name)) {
      refusal[i] = ErrorCode::kTopicAuthorizationFailed;
    } else if (authorizing && !services.broker.describe_topic(name) &&
               !cluster_allowed(services, req, KEEL_ACL_OP_CREATE, false) &&
               !topic_allowed(services, req, KEEL_ACL_OP_CREATE, name)) {
      refusal[i] = ErrorCode::kUnknownTopicOrPartition;
    }
  }
  for (const auto& item : work) {
    PartitionAnswer& answer = call->topics[item.topic].partitions[item.partition];
    const std::string& topic = call->topics[item.topic].name;
    const std::string where = "produce to " + topic + "-" + std::to_string(answer.index);
    if (refusal[item.topic] != ErrorCode::kNone) {
      call->failed(answer, code(refusal[item.topic]),
                   where + (refusal[item.topic] == ErrorCode::kTopicAuthorizationFailed
                                ? ": not authorized to WRITE to topic '" + topic + "'"
                                : ": no such topic, and not authorized to CREATE it"));
      continue;
    }
    if (!acks_valid) {
      call->failed(answer, code(ErrorCode::kInvalidRequiredAcks),
                   where + ": acks " + std::to_string(call->acks) + " is not 0, 1 or -1");
      continue;
    }
    const auto* data = item.records ? reinterpret_cast<const uint8_t*>(item.records->data()) : nullptr;
    const size_t len = item.records ? item.records->size() : 0;
    const bool legacy =
        req.api_version < 3 || (len > batch::kMagicPos && data[batch::kMagicPos] < batch::kMagic);
    if (legacy) {
      std::call_once(legacy_format_logged, [&] {
        services.host.warn("refusing produce with the old MessageSet format (magic 0/1, Produce v" +
                           std::to_string(req.api_version) + ", client '" + req.client_id.value_or("") +
                           "'): Keel stores RecordBatch v2 only; use a client that sends Produce v3+ "
                           "(Kafka 0.11+ format). Logged once.");
      });
      call->failed(answer, code(ErrorCode::kUnsupportedForMessageFormat), where + ": old MessageSet format");
      continue;
    }
    if (len == 0) {
      call->failed(answer, code(ErrorCode::kCorruptMessage), where + ": no records");
      continue;
    }
    if (const int codec = unknown_codec(data, len); codec >= 0) {
      call->failed(answer, code(ErrorCode::kUnsupportedCompressionType),
                   where + ": compression codec " + std::to_string(codec) +
                       " is unknown (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd); nothing was written");
      continue;
    }
    call->pending.fetch_add(1);
    // Idempotence (sequence checks, duplicates answered with the original
    // offsets) is the kernel's, under the partition's append lock.
    services.broker.produce(
        topic, answer.index, data, len, broker_acks,
        [call, &answer, where](const sdk::ProduceResult& o) {
          const int16_t error = kafka_error(o);
          if (error != 0) {
            call->failed(answer, error,
                         where + " failed (Kafka error " + std::to_string(error) + "): " + o.message);
          } else {
            answer.base_offset = o.base_offset;
            answer.log_append_time = o.log_append_time;
            answer.log_start_offset = o.log_start_offset;
          }
          call->finished_one();
        },
        sync_here);
  }
  call->finished_one();
}

}  // namespace keel::kafka
