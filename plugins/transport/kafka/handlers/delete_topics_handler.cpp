// DeleteTopics (key 20), v0-1. Deletion is synchronous in the broker (the
// partition directories are renamed away before it returns), so timeout_ms
// never runs out. A topic declared in the broker's TOML comes back, empty,
// at the next start.
#include <set>
#include <string>
#include <vector>

#include "../authorization.hpp"
#include "../protocol/errors.hpp"
#include "../services.hpp"
#include "handlers.hpp"

namespace keel::kafka {
namespace {

ErrorCode delete_one(Services& services, const std::string& name) {
  std::string message;
  switch (services.broker.delete_topic(name, &message)) {
    case KEEL_OK:
      return ErrorCode::kNone;
    case KEEL_ERR_NOT_FOUND:
      return ErrorCode::kUnknownTopicOrPartition;
    case KEEL_ERR_INVALID_ARGUMENT:
      return ErrorCode::kInvalidRequest;
    default:
      // DeleteTopics v0-1 has no error message field: the log carries it.
      services.host.warn("DeleteTopics: could not delete topic '" + name + "': " + message);
      return ErrorCode::kUnknownServerError;
  }
}

}  // namespace

void handle_delete_topics(Services& services, Request& req, const Responder& respond) {
  const int16_t v = req.api_version;
  const bool flex = req.flexible;
  Reader& r = req.body;

  std::vector<std::string> names;
  const int32_t n = r.array_length(flex);
  for (int32_t i = 0; i < n; ++i) names.push_back(r.any_string(flex));
  r.int32();  // timeout_ms
  if (flex) r.tagged_fields();

  std::set<std::string> seen;
  std::set<std::string> duplicated;
  for (const auto& name : names) {
    if (!seen.insert(name).second) duplicated.insert(name);
  }

  Writer w;
  if (v >= 1) w.int32(0);  // throttle_time_ms
  w.array_length(static_cast<int32_t>(names.size()), flex);
  for (const auto& name : names) {
    // Kafka refuses a request naming a topic twice rather than guess.
    const ErrorCode e = duplicated.count(name) ? ErrorCode::kInvalidRequest
                        : !topic_allowed(services, req, KEEL_ACL_OP_DELETE, name)
                            ? ErrorCode::kTopicAuthorizationFailed
                            : delete_one(services, name);
    w.string(name, flex);
    w.int16(code(e));
    w.tagged_fields(flex);
  }
  w.tagged_fields(flex);
  respond.send(std::move(w));
}

}  // namespace keel::kafka
