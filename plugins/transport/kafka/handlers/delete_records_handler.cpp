// DeleteRecords (key 21), v0-2 (v2 flexible): moves partitions' log start
// offsets (offset -1 = the high watermark). The kernel makes the new start
// durable before answering, so timeout_ms never runs out.
#include <string>

#include "../authorization.hpp"
#include "../partition_error.hpp"
#include "../protocol/errors.hpp"
#include "../services.hpp"
#include "handlers.hpp"

namespace keel::kafka {
namespace {

ErrorCode delete_records_error(keel_status s) {
  switch (s) {
    case KEEL_ERR_INVALID_ARGUMENT:  // a negative offset other than -1, as Kafka answers it
      return ErrorCode::kOffsetOutOfRange;
    case KEEL_ERR_INVALID_NAME:  // an internal topic
      return ErrorCode::kInvalidTopicException;
    case KEEL_ERR_UNAVAILABLE:
      return ErrorCode::kLeaderNotAvailable;  // retriable: the broker is starting
    default: {
      // NOT_LEADER, NOT_FOUND, OUT_OF_RANGE: as every data API. What the
      // shared table leaves unnamed failed on the file system here (the new
      // start is synced before the answer).
      const ErrorCode e = partition_error(s);
      return e == ErrorCode::kUnknownServerError ? ErrorCode::kKafkaStorageError : e;
    }
  }
}

}  // namespace

void handle_delete_records(Services& services, Request& req, const Responder& respond) {
  const bool flex = req.flexible;
  Reader& r = req.body;
  struct Part {
    int32_t index = 0;
    int64_t offset = 0;
  };
  std::vector<std::pair<std::string, std::vector<Part>>> topics;
  const int32_t n = r.array_length(flex);
  for (int32_t i = 0; i < n; ++i) {
    std::string name = r.any_string(flex);
    std::vector<Part> parts;
    const int32_t np = r.array_length(flex);
    for (int32_t k = 0; k < np; ++k) {
      Part p;
      p.index = r.int32();
      p.offset = r.int64();
      if (flex) r.tagged_fields();
      parts.push_back(p);
    }
    if (flex) r.tagged_fields();
    topics.emplace_back(std::move(name), std::move(parts));
  }
  r.int32();  // timeout_ms
  if (flex) r.tagged_fields();

  Writer w;
  w.int32(0);  // throttle_time_ms
  w.array_length(static_cast<int32_t>(topics.size()), flex);
  for (const auto& [name, parts] : topics) {
    w.string(name, flex);
    w.array_length(static_cast<int32_t>(parts.size()), flex);
    const bool may_delete = topic_allowed(services, req, KEEL_ACL_OP_DELETE, name);
    for (const auto& p : parts) {
      if (!may_delete) {
        w.int32(p.index);
        w.int64(-1);
        w.int16(code(ErrorCode::kTopicAuthorizationFailed));
        w.tagged_fields(flex);
        continue;
      }
      int64_t low = -1;
      std::string message;
      const keel_status s = services.broker.delete_records(name, p.index, p.offset, &low, &message);
      const ErrorCode e = delete_records_error(s);
      if (s != KEEL_OK) {
        // The response has no message field: say it in the log.
        services.client_log.info("DeleteRecords from client '" + req.client_id.value_or("") + "' on " + name +
                                 "-" + std::to_string(p.index) + " refused: " + message);
      }
      w.int32(p.index);
      w.int64(s == KEEL_OK ? low : -1);
      w.int16(code(e));
      w.tagged_fields(flex);
    }
    w.tagged_fields(flex);
  }
  w.tagged_fields(flex);
  respond.send(std::move(w));
}

}  // namespace keel::kafka
